"""Models: a small MLP and CNN for quick runs, LeNet-5, ResNet-18 and ResNet-50 (CIFAR form), ResNet-50 in its
ImageNet form (``resnet50_imagenet``) and VGG-16 with BatchNorm.
Every Linear / Conv weight is Kaiming-normal initialized (paper 000 Sec. 3), biases 0, BN weight 1 bias 0.

``build(name, in_shape, classes)``: in_shape is (channels, length) for 1-D data and (channels, H, W) for
images.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MODELS = ("mlp", "cnn", "lenet5", "resnet18", "resnet50", "resnet50_imagenet", "vgg16_bn")
IMAGE_MODELS = ("lenet5", "resnet18", "resnet50", "resnet50_imagenet", "vgg16_bn")  # need (channels, H, W)


def kaiming_(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def mlp(in_shape, classes, width: int = 256) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), width), nn.ReLU(), nn.Linear(width, width),
                         nn.ReLU(), nn.Linear(width, classes))


def cnn(in_shape, classes, width: int = 32) -> nn.Module:
    conv, bn, pool = ((nn.Conv1d, nn.BatchNorm1d, nn.AdaptiveAvgPool1d) if len(in_shape) == 2 else
                      (nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d))
    c = in_shape[0]
    return nn.Sequential(conv(c, width, 3, padding=1), bn(width), nn.ReLU(),
                         conv(width, 2 * width, 3, padding=1, stride=2), bn(2 * width), nn.ReLU(),
                         conv(2 * width, 2 * width, 3, padding=1), bn(2 * width), nn.ReLU(),
                         pool(1), nn.Flatten(), nn.Linear(2 * width, classes))


def lenet5(in_shape, classes) -> nn.Module:
    c, h, w = in_shape
    pad = 2 if h == 28 else 0  # the classic 32 x 32 input from 28 x 28 MNIST
    side = ((h + 2 * pad - 4) // 2 - 4) // 2
    return nn.Sequential(nn.Conv2d(c, 6, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * side * side, 120), nn.ReLU(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


class _Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.b1(self.c1(x)))
        return torch.relu(self.b2(self.c2(out)) + self.short(x))


class _Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = 4 * width
        self.body = nn.Sequential(nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def resnet50(in_shape, classes, stem: str = "cifar") -> nn.Module:
    """ResNet-50, bottleneck stages (3, 4, 6, 3), widths 64-512 (x4).  ``stem="cifar"``: a 3x3 convolution and no
    max-pool (32 x 32 and 64 x 64 inputs); ``stem="imagenet"``: the 7x7 stride-2 convolution and a 3x3 stride-2
    max-pool of He et al. (224 x 224 inputs)."""
    if stem == "imagenet":
        layers = [nn.Conv2d(in_shape[0], 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                  nn.MaxPool2d(3, 2, 1)]
    else:
        layers = [nn.Conv2d(in_shape[0], 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            layers.append(_Bottleneck(cin, width, stride if b == 0 else 1))
            cin = 4 * width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def resnet50_imagenet(in_shape, classes) -> nn.Module:
    return resnet50(in_shape, classes, stem="imagenet")


def resnet18(in_shape, classes) -> nn.Module:
    """ResNet-18 in its CIFAR form: 3x3 stem, no max-pool, stages 64-128-256-512."""
    layers = [nn.Conv2d(in_shape[0], 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [_Basic(cin, cout, stride), _Basic(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def vgg16_bn(in_shape, classes) -> nn.Module:
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers, c = [], in_shape[0]
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
            c = v
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def build(name: str, in_shape, classes: int) -> nn.Module:
    makers = {"mlp": mlp, "cnn": cnn, "lenet5": lenet5, "resnet18": resnet18, "resnet50": resnet50,
              "resnet50_imagenet": resnet50_imagenet, "vgg16_bn": vgg16_bn}
    if name not in makers:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    if name in IMAGE_MODELS and len(in_shape) != 3:
        raise ValueError(f"model {name!r} needs image inputs (channels, H, W), got shape {tuple(in_shape)}")
    return kaiming_(makers[name](tuple(in_shape), classes))
