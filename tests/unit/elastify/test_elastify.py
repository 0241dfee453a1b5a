"""elastify() on three user networks: equivalence at the max, exports, costs, gradients, report."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from networks import BasicBlock, MobileNetV2Like, ResNet18Like, SEConcatNet
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from onceforall.arch.elastified import ElastifiedArch
from onceforall.elastify import ElastifiedSupernet, elastify
from onceforall.elastify.layers import ElastifiedConv2d, ElastifiedLinear
from onceforall.errors import ArchError, ElastifyError

NETWORKS = [ResNet18Like, MobileNetV2Like, SEConcatNet]
RESOLUTIONS = (24, 28, 32)


def _pair(cls: type[nn.Module]) -> tuple[nn.Module, ElastifiedSupernet]:
    torch.manual_seed(0)
    model = cls().eval()
    with torch.no_grad():  # non-trivial batch-norm statistics
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    net = elastify(model, torch.randn(1, 3, 32, 32), resolutions=RESOLUTIONS)
    return model, net.eval()


def _images(resolution: int, count: int = 2) -> Tensor:
    return torch.randn(count, 3, resolution, resolution, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
def test_max_arch_computes_what_the_network_computes(cls: type[nn.Module]) -> None:
    model, net = _pair(cls)
    for resolution in RESOLUTIONS:
        images = _images(resolution)
        with torch.no_grad():
            assert (net(images) - model(images)).abs().max() <= 1e-5
    assert net.arch == net.space.max()


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
def test_sub_networks_export_to_stock_modules_with_equal_outputs_and_counted_costs(
    cls: type[nn.Module],
) -> None:
    _, net = _pair(cls)
    rng = np.random.default_rng(0)
    for arch in [net.space.min(), net.space.max(), *(net.space.sample(rng) for _ in range(8))]:
        images = _images(arch.resolution)
        net.set_arch(arch)
        exported = net.export(arch)
        assert not any("onceforall" in type(m).__module__ for m in exported.modules())
        with torch.no_grad():
            assert (net(images) - exported(images)).abs().max() <= 1e-5
            with FlopCounterMode(display=False) as counter:
                exported(images[:1])
        assert net.space.macs(arch) == counter.get_total_flops() // 2
        assert net.space.params(arch) == sum(p.numel() for p in exported.parameters())
        assert net.space.parse(str(arch)) == arch
        assert net.space.arch_from_json(arch.to_json()) == arch


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
def test_inactive_weights_get_exactly_zero_gradient(cls: type[nn.Module]) -> None:
    _, net = _pair(cls)
    net.train()
    arch = net.space.min()
    net.set_arch(arch)
    net(_images(arch.resolution, 4)).square().mean().backward()
    widths = {g: arch.widths[i] for g, i in net.plan.group_of_gene.items()}
    checked = 0
    for layer in net.plan.layers:
        module = net.model.get_submodule(layer.path)
        if (
            not isinstance(module, (ElastifiedConv2d, ElastifiedLinear))
            or module.weight.grad is None
        ):
            continue
        grad = module.weight.grad
        if layer.out_group in widths and not getattr(module, "depthwise", False):
            assert torch.all(grad[widths[layer.out_group] :] == 0), layer.path
            checked += 1
        if layer.in_group in widths and not getattr(module, "depthwise", False):
            assert torch.all(grad[:, widths[layer.in_group] :] == 0), layer.path
            checked += 1
    assert checked > 0
    for stage, depth in zip(net.plan.stages, arch.depths, strict=True):
        for path in stage.children[depth:]:
            for parameter in net.model.get_submodule(path).parameters():
                assert parameter.grad is None or torch.all(parameter.grad == 0), path


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
def test_channel_sorting_keeps_the_function_and_sorts_by_importance(cls: type[nn.Module]) -> None:
    model, net = _pair(cls)
    net.reorder_channels()
    images = _images(32)
    with torch.no_grad():
        assert (net(images) - model(images)).abs().max() <= 1e-4
    from onceforall.elastify.reorder import importance

    for group in net.plan.group_of_gene:
        scores = importance(net.model, net.plan, group)
        assert scores is not None
        assert torch.all(scores[:-1] >= scores[1:])


def test_population_operators_stay_in_the_space() -> None:
    _, net = _pair(MobileNetV2Like)
    space = net.space
    rng = np.random.default_rng(3)
    population = space.sample_population(200, rng)
    assert space.contains_population(population).all()
    assert space.contains_population(space.mutate_population(population, rng, prob=0.5)).all()
    other = space.sample_population(200, rng)
    assert space.contains_population(space.crossover_population(population, other, rng)).all()
    assert np.array_equal(space.canonicalize(population), population)


class ThreeBlockStage(nn.Module):
    """One stage of three basic blocks with 8 channels: a space small enough to enumerate."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 5, padding=2)
        self.stage = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8), BasicBlock(8, 8))
        self.fc = nn.Linear(8, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.stage(self.stem(x)).mean((2, 3)))


def test_size_counts_the_canonical_rows() -> None:
    net = elastify(
        ThreeBlockStage(), torch.randn(1, 3, 16, 16), width_ratios=(0.5, 1.0), channel_divisor=4
    )
    space = net.space
    options = [(0, *gene.choices) for gene in space.genes]
    rows = np.array(list(itertools.product(*options)), dtype=np.int32)
    assert space.size() == int(space.contains_population(rows).sum())
    # stem kernel 3/5 x (hidden widths 4/8 of the 1, 2 or 3 blocks kept)
    assert space.size() == 2 * (2 + 2 * 2 + 2 * 2 * 2)
    assert [str(stage.depths) for stage in net.plan.stages] == ["(1, 2, 3)"]


def test_arch_errors_name_the_gene() -> None:
    _, net = _pair(ResNet18Like)
    with pytest.raises(ArchError, match="width"):
        net.space.validate(ElastifiedArch(32, (2, 2, 2, 2), (5,) * 8, (7,)))
    with pytest.raises(ArchError, match="dropped"):
        net.space.validate(ElastifiedArch(32, (1, 2, 2, 2), (16,) * 8, (7,)))
    with pytest.raises(ArchError):
        net.space.parse("r32-d2.2-w16-k7")


def test_report_says_what_became_elastic_and_why_not() -> None:
    net = elastify(SEConcatNet(), torch.randn(1, 3, 32, 32))
    text = "\n".join(net.plan.report)
    assert "branch_a: kept: used by a concatenation" in text
    assert "se.fc1: elastic" in text
    assert "out: kept: the network's output" in text
    resnet = elastify(ResNet18Like(), torch.randn(1, 3, 32, 32))
    text = "\n".join(resnet.plan.report)
    assert "layer1: keeps 1/2 of 2 blocks" in text and "tied by a residual add" in text
    assert "conv1 (7x7): elastic 3/5/7" in text


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: Tensor) -> Tensor:
        if x.sum() > 0:  # data-dependent control flow: not traceable
            return self.conv(x)
        return x


def test_untraceable_network_is_a_clear_error() -> None:
    with pytest.raises(ElastifyError, match=r"cannot trace .*test_elastify\.py:\d+ in forward"):
        elastify(DataDependent(), torch.randn(1, 3, 8, 8))
    with pytest.raises(ElastifyError, match="example input"):
        elastify(ResNet18Like(), torch.randn(3, 32, 32))


def test_the_users_network_is_left_alone() -> None:
    model = ResNet18Like()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = elastify(model, torch.randn(1, 3, 32, 32))
    net.reorder_channels()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert isinstance(model.conv1, nn.Conv2d) and type(model.layer1) is nn.Sequential


def test_the_readme_example_network_is_elastic_in_depth_width_and_kernel() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[3] / "examples" / "fashion_resnet.py"
    spec = importlib.util.spec_from_file_location("fashion_resnet", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build(10).eval()
    net = elastify(model, torch.randn(1, 3, 32, 32), resolutions=(24, 32)).eval()
    assert [s.path for s in net.plan.stages] == ["stage1", "stage2", "stage3"]  # Identity shortcuts
    assert len(net.space.columns("width")) == 9 and len(net.space.columns("kernel")) == 1
    images = _images(24)
    with torch.no_grad():
        assert (net(images) - model(images)).abs().max() <= 1e-5


def test_channel_sorting_keeps_the_channel_sets_of_widths_trained_before() -> None:
    from onceforall.elastify.reorder import importance

    _, net = _pair(ResNet18Like)
    assert net.space.expand_ratios == (0.5, 0.75, 1.0)
    group, gene = next(iter(net.plan.group_of_gene.items()))
    half = net.space.genes[1 + len(net.plan.stages) + gene].choices[0]
    before = importance(net.model, net.plan, group)
    assert before is not None
    net.reorder_channels(keep_expand_ratios=(0.5,))
    after = importance(net.model, net.plan, group)
    assert after is not None
    assert torch.equal(torch.sort(after[:half]).values, torch.sort(before[:half]).values)
    assert torch.all(after[:half][:-1] >= after[:half][1:])
    assert torch.all(after[half:][:-1] >= after[half:][1:])


def test_predictor_features_are_one_hot_per_active_gene() -> None:
    from onceforall.errors import PredictorError
    from onceforall.families.registry import family_of, feature_encoding_from_json

    _, net = _pair(ResNet18Like)
    family = family_of(net.space)
    encoding = family.feature_encoding(net.space)
    assert feature_encoding_from_json(encoding.to_json()) == encoding
    population = net.space.sample_population(50, np.random.default_rng(1))
    features = encoding.encode(net.space, population)
    active = net.space.gene_activity(population)
    assert features.shape == (50, encoding.width)
    np.testing.assert_array_equal(features.sum(axis=1), active.sum(axis=1))
    other = elastify(SEConcatNet(), torch.randn(1, 3, 32, 32)).space
    with pytest.raises(PredictorError):
        encoding.check_space(other)


@pytest.mark.parametrize("cls", NETWORKS, ids=lambda c: c.__name__)
def test_search_reads_the_cost_tables_of_the_space(cls: type[nn.Module]) -> None:
    """The search's stacked MACs/params tables come from `cost_table` (no probing) and equal
    the space's own counts on every row."""
    from functools import partial

    from onceforall.search.costs import population_costs

    space = _pair(cls)[1].space
    functions = {"macs": space.macs_population, "params": space.params_population}
    tables = {what: partial(space.cost_table, what=what) for what in ("macs", "params")}
    costs = population_costs(space, functions, tables=tables)  # type: ignore[arg-type]
    assert costs.tabulated
    rows = space.sample_population(500, np.random.default_rng(0))
    values = costs.evaluate(rows)
    assert values[:, 0].tolist() == space.macs_population(rows).tolist()
    assert values[:, 1].tolist() == space.params_population(rows).tolist()
