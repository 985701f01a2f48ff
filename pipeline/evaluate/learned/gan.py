"""GAN-Attack (after Madono et al.'s SIA-GAN): unpaired translation from the victim's encrypted images to plain ones.

A CycleGAN-lite: generators G (encrypted -> plain) and F (plain -> encrypted), both
:class:`~pipeline.evaluate.learned.networks.Translator`, PatchGAN critics for each domain,
least-squares adversarial losses and an L1 cycle loss. The adversary holds public plain
images and the victim's encrypted train images, never as pairs: the two sets are the disjoint
halves of the train split (:func:`~pipeline.evaluate.halves.adversary_halves`: encrypted from one,
plain from the other, every class in both), so no picture appears in both. G is applied to the encrypted test images.

The training is scored on a share of both domains held out of it: the cycle SSIM, the mean of
SSIM(F(G(e)), e) over held-out victim encrypted images and SSIM(G(F(p)), p) over held-out public
plain images. It needs no pairs, so it follows the translation the GAN learns for the victim's
key (a score under a key of the adversary's own would not: G learns the victim's key, not a
key-independent inverse); it stops at that score's plateau.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.evaluate.attack_data import AttackData
from pipeline.evaluate.halves import adversary_halves
from pipeline.evaluate.learned import training
from pipeline.evaluate.learned.itn import NotApplicable, heldout_count
from pipeline.evaluate.learned.mixing import mixing_problem
from pipeline.evaluate.learned.networks import Discriminator, chosen_mixing, translator
from pipeline.evaluate.learned.kind import LearnedAttack
from pipeline.evaluate.learned.settings import LearnedSettings

SCORE = "cycle SSIM on held-out images of both domains: mean of SSIM(F(G(e)), e) and SSIM(G(F(p)), p)"


def unpaired_sets(data: AttackData, settings: LearnedSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(public plain to train on, held-out public plain, victim encrypted to train on, held-out victim encrypted)
    from disjoint halves of the train split, at most ``public_images`` each."""
    encrypted_rows, public_rows = adversary_halves(data.train_labels)
    n = min(settings.public_images, len(encrypted_rows))
    held = heldout_count(settings, n)
    plain, encrypted = data.picked("plain_train", public_rows[:n]), data.picked("enc_train", encrypted_rows[:n])
    return plain[:n - held], plain[n - held:], encrypted[:n - held], encrypted[n - held:]


def cycle_ssim(g: nn.Module, f: nn.Module, plain: np.ndarray, encrypted: np.ndarray, device: str) -> float:
    """Mean of the held-out cycle SSIMs: F(G(e)) against e and G(F(p)) against p."""
    return (training.heldout_ssim(nn.Sequential(g, f), encrypted, encrypted, device)
            + training.heldout_ssim(nn.Sequential(f, g), plain, plain, device)) / 2


def gan_attack(data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings, *, checkpoint_dir: Path | None,
               progress: bool, device: str = "cpu") -> tuple[np.ndarray, dict, list[dict]]:
    """Recovered test pictures, what the adversary held (unpaired public plain and victim encrypted
    images) and the record of its training."""
    if mixing_problem(data.shape) is not None:
        raise NotApplicable(mixing_problem(data.shape))
    plain, held_plain, encrypted, held_enc = unpaired_sets(data, settings)
    p, e = training.to_tensor(plain, device), training.to_tensor(encrypted, device)
    c = data.shape[2]
    with training.deterministic(settings.seed, settings.threads, device):
        g, f = (translator(data, scheme, options, settings.width, settings.block_mixing).to(device, memory_format=torch.channels_last)
                for _ in range(2))
        d_plain, d_enc = (Discriminator(c, settings.width).to(device, memory_format=torch.channels_last) for _ in range(2))
        gen = training.optimizer([*g.parameters(), *f.parameters()], settings.gan_learning_rate, betas=(0.5, 0.999))
        disc = training.optimizer([*d_plain.parameters(), *d_enc.parameters()], settings.gan_learning_rate, betas=(0.5, 0.999))

        def step(rng: np.random.Generator) -> dict[str, float]:
            xp = p[torch.from_numpy(rng.integers(0, len(p), settings.gan_batch)).to(device)]
            xe = e[torch.from_numpy(rng.integers(0, len(e), settings.gan_batch)).to(device)]
            fake_p, fake_e = g(xe), f(xp)
            adversarial = ((d_plain(fake_p) - 1) ** 2).mean() + ((d_enc(fake_e) - 1) ** 2).mean()
            cycle = (f(fake_p) - xe).abs().mean() + (g(fake_e) - xp).abs().mean()
            loss = adversarial + settings.cycle_weight * cycle
            gen.zero_grad()
            loss.backward()
            gen.step()
            critic = (((d_plain(xp) - 1) ** 2).mean() + (d_plain(fake_p.detach()) ** 2).mean()
                      + ((d_enc(xe) - 1) ** 2).mean() + (d_enc(fake_e.detach()) ** 2).mean()) / 2
            disc.zero_grad()
            critic.backward()
            disc.step()
            return {"loss": loss.item(), "adversarial": adversarial.item(), "cycle": cycle.item(), "critic": critic.item()}

        digest = hashlib.sha256(plain.tobytes() + held_plain.tobytes() + encrypted.tobytes() + held_enc.tobytes()).hexdigest()[:16]
        recipe = {"scheme": scheme.name, "shape": list(data.shape), "data": digest, "score": "cycle ssim",
                  **settings.recipe("seed", "width", "gan_batch", "cycle_weight"), "lr": settings.gan_learning_rate,
                  **chosen_mixing(g, settings), **settings.stopping()}
        run = training.train({"g": g, "f": f, "d_plain": d_plain, "d_enc": d_enc}, {"gen": gen, "disc": disc}, step,
                             cap=settings.gan_steps, seed=settings.seed, name="gan", recipe=recipe,
                             checkpoint=None if checkpoint_dir is None else Path(checkpoint_dir) / f"{data.spec.name}_{scheme.name}_gan.pt",
                             score=lambda: cycle_ssim(g, f, held_plain, held_enc, device),
                             eval_every=settings.eval_every, patience=settings.patience, min_delta=settings.min_delta,
                             checkpoint_every=settings.checkpoint_every, progress=progress, device=device)
        held = {"public_plain_images": len(plain), "heldout_public_images": len(held_plain), "victim_encrypted_images": len(encrypted),
                "heldout_victim_encrypted_images": len(held_enc), "paired": False, "victim_pairs": 0, "own_keys": 0,
                "victim_key": "never used (scored against plain test images)", "mixing": type(g.mix).__name__}
        trainings = [run.record(settings.stopping(), SCORE)]
        return training.apply(g, data.enc_test, device), held, trainings


ATTACK = LearnedAttack(
    "gan", gan_attack,
    threat_model="unpaired: public plain images and the victim's encrypted train images (disjoint stratified halves of the train split, "
                 "no labels, no pairs); a CycleGAN-style translation")
