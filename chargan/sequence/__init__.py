"""What the families of symbol sequences (text, genes) share; not a family itself.

- `chargan.sequence.models`: the paper's conv generator and relaxed critic over ``(batch, seq_len, vocab)``;
- `chargan.sequence.ngrams`: vectorized n-gram statistics and JS divergence of id rows;
- `chargan.sequence.reference`: a corpus's n-gram reference with the held-out floor, cached beside it;
- `chargan.sequence.decoding`: argmax or sampled decoding of a generator's softmax.

It imports the core and nothing of any family, the data layer or the CLI
(tests/test_architecture.py checks it), so that families reach each other
only through the registry.
"""
