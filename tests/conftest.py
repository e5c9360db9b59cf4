import pytest
import torch


@pytest.fixture(scope="session")
def model():
    from golden import network
    return network.load_model()


@pytest.fixture(scope="session")
def real_acts(model):
    """Real activations of EfficientNet-Lite0 on one photo: a uint8 ReLU6
    tensor, a sparse late one, and a signed int8 block output."""
    from golden import network
    out = {}

    def tap(name, kind, v):
        if name in ("b1.expand", "b10.dw", "head"):
            out[name] = network.relu6_to_uint8(v[0])
        if name == "b3.out":
            s = v[0].abs().max().item() / 127
            out[name] = torch.round(v[0] / s).clamp(-128, 127).to(torch.int8)

    network.run(model, network.make_input("chelsea", 1, False)[None], tap)
    return out
