"""Every network of the paper, with its weight count (paper-spec §1.5 table and Table 10)."""

from lstm1997 import Architecture

GA = ("in_gate", "out_gate")          # "ga": gates only (Exp. 1)
B1 = ("in_gate", "out_gate", "cell")  # "b1": all hidden units (Exp. 3)

PAPER_NETS = {
    "exp1_4x1": (Architecture(7, 7, 4, 1, bias=GA, init_range=0.2, out_gate_bias=(-1, -2, -3, -4)), 264),
    "exp1_3x2": (Architecture(7, 7, 3, 2, bias=GA, init_range=0.2, out_gate_bias=(-1, -2, -3)), 276),
    "exp2a": (Architecture(101, 101, 1, 1, connectivity="B", output_gates=False, outputs_see_inputs=True,
                           bias=(), g="g1", h="id", init_range=0.2), 10504),
    **{f"exp2c_p{p}": (Architecture(p + 4, 2, 2, 1, bias=(), init_range=0.2), w)
       for p, w in ((50, 364), (100, 664), (200, 1264), (500, 3064), (1000, 6064))},
    "exp3": (Architecture(1, 1, 3, 1, bias=B1, in_gate_bias=(-1, -3, -5), out_gate_bias=(-2, -4, -6)), 102),
    "exp4": (Architecture(2, 1, 2, 2, in_gate_bias=(-3, -6)), 93),
    "exp5": (Architecture(2, 1, 2, 2), 93),
    "exp6a": (Architecture(8, 4, 2, 2, in_gate_bias=(-2, -4)), 156),
    "exp6b": (Architecture(8, 8, 3, 2, in_gate_bias=(-2, -4, -6)), 308),
}
