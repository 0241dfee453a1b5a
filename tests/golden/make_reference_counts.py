"""Write tests/golden/reference_counts.json: the reference implementation's MACs and parameter
counts of the largest and smallest sub-network of every reference supernet family.

    .venv/bin/python tests/golden/make_reference_counts.py

Each sub-network is selected in the reference's own elastic network with our arch's reference
dict, extracted with `get_active_subnet()` and counted with the reference's `count_net_flops`
(float32 accumulation) and `count_parameters`, 1000 classes, at 224 px and 160 px.
"""

from __future__ import annotations

import importlib.metadata
import sys
from dataclasses import replace
from pathlib import Path

from onceforall.atomic_files import atomic_write_text
from onceforall.cli.output import format_json
from onceforall.compat.reference_oracle import import_reference, reference_supernet
from onceforall.models.registry import supernet_space

OUT = Path(__file__).with_name("reference_counts.json")
RESOLUTIONS = (224, 160)
SUPERNETS = ("ofa_mbv3_w10", "ofa_mbv3_w12", "ofa_proxyless_w13", "ofa_resnet50")


def main() -> int:
    utils = import_reference("ofa.utils")
    rows = []
    for name in SUPERNETS:
        space = supernet_space(name, 1000)
        net = reference_supernet(name).eval()
        for which in ("max", "min"):
            for resolution in RESOLUTIONS:
                arch = replace(
                    space.max() if which == "max" else space.min(), resolution=resolution
                )
                ref = space.to_reference_dict(arch)
                net.set_active_subnet(**{k: ref[k] for k in ("ks", "e", "d", "w") if k in ref})
                subnet = net.get_active_subnet()
                rows.append(
                    {
                        "supernet": name,
                        "which": which,
                        "resolution": resolution,
                        "arch": str(arch),
                        "reference_dict": ref,
                        "macs": float(
                            utils.count_net_flops(subnet, (1, 3, resolution, resolution))
                        ),
                        "params": int(utils.count_parameters(subnet)),
                    }
                )
                print(f"{name:18s} {which} {resolution}: {rows[-1]['macs']:.0f} MACs")
    atomic_write_text(
        OUT,
        format_json(
            {
                "what": "MACs (count_net_flops, float32 accumulation) and parameters "
                "(count_parameters) of the reference implementation's own sub-networks, "
                "1000 classes",
                "reference": f"ofa {importlib.metadata.version('ofa')}",
                "command": "python tests/golden/make_reference_counts.py",
                "counts": rows,
            }
        )
        + "\n",
    )
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
