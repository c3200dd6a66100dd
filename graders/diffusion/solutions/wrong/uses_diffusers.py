# WRONG(rejected): imports diffusers, which the rules forbid (it is not installed either)
"""diffusion, known wrong: reaches for a library's scheduler."""

from diffusers import DDPMScheduler  # noqa: F401


def make_schedule(kind, T):
    return DDPMScheduler(num_train_timesteps=T, beta_schedule="squaredcos_cap_v2").betas.double()
