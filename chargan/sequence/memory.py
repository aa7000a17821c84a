"""How many bytes the conv sequence GAN (`chargan.sequence.models`) needs, from its sizes alone (torch-free).

Counted as tensors that must exist at once, so the figures are lower
bounds: `chargan.core.memory.check_memory` refuses a config only when even
they cannot fit. Each part names the flags that size it, for the error.
"""

from __future__ import annotations

FLOAT = 4  # bytes: float32
#: Weights, gradients and Adam's two moments.
TRAINING_COPIES = 4
#: Floats a residual block keeps per position and channel for the backward (input, two ReLU inputs, output).
BLOCK_SAVED = 4


def conv_gan_bytes(*, vocab: int, seq_len: int, dim: int, latent_dim: int, n_blocks: int, kernel_size: int,
                   batch_size: int, critic_iters: int, eval_samples: int, training: bool = True) -> dict[str, int]:
    """Named parts in bytes of training (or, ``training=False``, sampling) the paper's conv GAN.

    ``vocab`` symbols per position; ``eval_samples`` sequences per evaluation (generated and decoded).
    """
    blocks = n_blocks * 2 * (dim * dim * kernel_size + dim)
    generator = latent_dim * dim * seq_len + dim * seq_len + blocks + dim * vocab + vocab
    critic = vocab * dim + dim + blocks + dim * seq_len + 1
    # One example's saved activations through one network: the blocks' and the (seq_len, vocab) ends.
    per_example = n_blocks * BLOCK_SAVED * seq_len * dim + 2 * seq_len * vocab
    # An evaluation holds its samples' softmax rows and their decoded text (a byte per symbol at the least).
    evaluation = eval_samples * seq_len * (vocab * FLOAT + 1)
    if not training:
        return {"the generator's weights (--dim, --n-blocks, --latent-dim, --seq-len)": generator * FLOAT,
                "the samples (--eval-samples, --seq-len)": evaluation}
    return {
        "the weights and Adam state (--dim, --n-blocks, --latent-dim, --seq-len)":
            (generator + critic) * FLOAT * TRAINING_COPIES,
        # The fakes of all critic steps come from one generator call (`Steps.critic_steps`).
        "the critic steps' fakes (--critic-iters, --batch-size, --seq-len)":
            critic_iters * batch_size * seq_len * vocab * FLOAT,
        # The critic scores real, fake and interpolated rows; the penalty's double backward doubles the last.
        "one step's activations (--batch-size, --dim, --n-blocks, --seq-len)":
            5 * batch_size * per_example * FLOAT,
        "an evaluation's samples (--eval-samples, --seq-len)": evaluation,
    }
