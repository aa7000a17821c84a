"""The paper's experiments as functions: each writes PNG figures and a table into a folder.

- `critic_surfaces` (Figure 1a): value surfaces of critics trained to optimality,
  weight clipping vs gradient penalty, on the three toy sets.
- `gradient_norms` (Figure 1b): per-layer gradient norms and weight histograms of
  deep critics on the Swiss roll, clipping c in {0.1, 0.01, 0.001} vs gradient penalty.
- `language_objectives` (section 5.5): the character model trained with gan,
  wgan-clip and wgan-gp for the same budget; JS-1..4 and samples.
"""

from chargan.experiments.deep_critics import gradient_norms
from chargan.experiments.language import language_objectives
from chargan.experiments.surfaces import critic_surfaces

__all__ = ["critic_surfaces", "gradient_norms", "language_objectives"]
