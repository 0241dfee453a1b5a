"""Time whole sub-networks end to end, resumably (latency validation, the claims benchmark).

Networks are exported static modules timed in interleaved shuffled rounds over a chunk of networks
(all of them by default), so that a change of the machine's load hits every network alike; each
round runs a network several times in a row, as deployed. The raw samples are kept per network, so
an interrupted measurement resumes from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from tqdm import tqdm

from onceforall.latency.measure import make_runner, round_sizes, time_round, warm_up
from onceforall.latency.settings import MeasureSettings
from onceforall.models.supernet import Supernet


def _rounds_done(count: int, done_after: list[int]) -> int:
    """Rounds a network completed, from its number of samples (0 if it matches no round)."""
    return done_after.index(count) if count in done_after else 0


def measure_networks(
    archs: list[Any],
    supernet_factory: Callable[[], Supernet[Any]],
    settings: MeasureSettings,
    samples: dict[str, list[int]],
    save: Callable[[], None],
    *,
    chunk_size: int,
    progress: bool,
) -> int:
    """Time the networks end to end, resuming from `samples` (updated in place, `save`d after
    every round); returns the number of rounds timed by this call."""
    sizes = round_sizes(settings)
    done_after = np.cumsum([0, *sizes]).tolist()
    done = {str(a): _rounds_done(len(samples.get(str(a), [])), done_after) for a in archs}
    supernet: Supernet[Any] | None = None
    rounds_timed = 0
    rng = np.random.default_rng([settings.seed, 2, sum(done.values())])
    # One step per network prepared (export) and per network timed in each round.
    finished = sum(rounds == settings.rounds for rounds in done.values())
    with tqdm(
        total=len(archs) * (settings.rounds + 1),
        initial=sum(done.values()) + finished,
        desc=f"networks ({settings.backend}, {len(archs)})",
        unit="step",
        disable=not progress,
    ) as bar:
        for start in range(0, len(archs), chunk_size):
            chunk = archs[start : start + chunk_size]
            first = min(done[str(a)] for a in chunk)
            if first == settings.rounds:
                continue
            for arch in chunk:  # the chunk advances together: align on its slowest network
                samples[str(arch)] = samples.get(str(arch), [])[: done_after[first]]
            if supernet is None:
                supernet = supernet_factory().eval()
            runners = []
            for offset, arch in enumerate(chunk):
                network = supernet.export(arch)
                seed = settings.seed * 1_000_003 + start + offset
                runners.append(
                    make_runner(network, (3, arch.resolution, arch.resolution), settings, seed)
                )
                bar.update(1)
            warm_up(runners, settings)
            for calls in sizes[first:]:
                new = time_round(runners, calls, settings, rng, lambda: bar.update(1))
                for arch, values in zip(chunk, new, strict=True):
                    samples[str(arch)].extend(values)
                rounds_timed += 1
                save()
    return rounds_timed
