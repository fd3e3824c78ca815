#!/usr/bin/env python3
"""Writes the tiny seed corpora of the fuzz targets (fuzz/seeds/<target>/).

Seeds come from the repository only: examples/si, the inputs of the unit
tests, and models trained for one epoch on examples/si (passed as
arguments: a nep.txt, a model.yaml, a potential.Si.nn and its .nn.ascii,
a checkpoint.json). Run from the repository root:
    python3 fuzz/make_seeds.py OUT_NEP OUT_DEEPMD OUT_BP
where each OUT_* is an output_dir of `forcefit train` on examples/si.
"""
import io
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def first_frame(path):
    lines = open(path).read().splitlines()
    n = int(lines[0])
    return "\n".join(lines[: n + 2]) + "\n"


def npy(shape, values, dtype="<f8"):
    """A version-1.0 .npy file (numpy's layout, written by hand so that no
    numpy is needed)."""
    shape_text = "(" + "".join(f"{d}," if len(shape) == 1 else f"{d}, " for d in shape).rstrip(" ") + ")"
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape_text}, }}"
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    code = "d" if dtype == "<f8" else "f"
    body = struct.pack("<" + code * len(values), *values)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


# A two-atom silicon OUTCAR in VASP's layout (written by hand): one
# converged ionic step with stress, positions and forces, then one that
# reached NELM = 3 electronic iterations.
OUTCAR_SEED = """ POTCAR:    PAW_PBE Si 05Jan2001
 POTCAR:    PAW_PBE Si 05Jan2001
   TITEL  = PAW_PBE Si 05Jan2001
   ions per type =               2
 POSCAR = Si2
   NWRITE =      2    write-flag & timer
   NELM   =      3;   NELMIN=  2; NELMDL= -5     # of ELM steps
--------------------------------------- Iteration      1(   1)  ---------------------------------------
  free energy    TOTEN  =        -8.40000000 eV
--------------------------------------- Iteration      1(   2)  ---------------------------------------
  FORCE on cell =-STRESS in cart. coord.  units (eV):
  Direction    XX          YY          ZZ          XY          YZ          ZX
  in kB       1.00000     2.00000     3.00000     0.10000     0.20000     0.30000
 VOLUME and BASIS-vectors are now :
      direct lattice vectors                 reciprocal lattice vectors
     4.000000000  0.000000000  0.000000000     0.250000000  0.000000000  0.000000000
     0.500000000  4.000000000  0.000000000     0.000000000  0.250000000  0.000000000
    -0.250000000-0.125000000  4.000000000     0.000000000  0.000000000  0.250000000
 POSITION                                       TOTAL-FORCE (eV/Angst)
 -----------------------------------------------------------------------------------
      0.00000      0.00000      0.00000         0.100000      0.000000      0.000000
      1.30000      1.40000      1.20000        -0.100000      0.000000      0.000000
 -----------------------------------------------------------------------------------
  free  energy   TOTEN  =        -8.50000000 eV
--------------------------------------- Iteration      2(   1)  ---------------------------------------
--------------------------------------- Iteration      2(   3)  ---------------------------------------
  in kB       1.00000     2.00000     3.00000     0.10000     0.20000     0.30000
      direct lattice vectors                 reciprocal lattice vectors
     4.000000000  0.000000000  0.000000000     0.250000000  0.000000000  0.000000000
     0.500000000  4.000000000  0.000000000     0.000000000  0.250000000  0.000000000
    -0.250000000-0.125000000  4.000000000     0.000000000  0.000000000  0.250000000
 POSITION                                       TOTAL-FORCE (eV/Angst)
 -----------------------------------------------------------------------------------
      0.01000      0.00000      0.00000         0.200000      0.000000      0.000000
      1.31000      1.40000      1.20000        -0.200000      0.000000      0.000000
 -----------------------------------------------------------------------------------
  free  energy   TOTEN  =        -8.45000000 eV
"""

# The same run as a vasprun.xml (written by hand): a converged calculation
# with stress, then one with NELM = 3 <scstep>s.
VASPRUN_SEED = """<?xml version="1.0" encoding="ISO-8859-1"?>
<modeling>
 <parameters>
  <separator name="electronic convergence" >
   <i type="int" name="NELM">     3</i>
  </separator>
 </parameters>
 <atominfo>
  <atoms>       2 </atoms>
  <array name="atoms" >
   <dimension dim="1">ion</dimension>
   <field type="string">element</field>
   <field type="int">atomtype</field>
   <set>
    <rc><c>Si</c><c>   1</c></rc>
    <rc><c>Si</c><c>   1</c></rc>
   </set>
  </array>
 </atominfo>
 <calculation>
  <scstep>
   <energy>
    <i name="e_fr_energy">     -8.40000000 </i>
   </energy>
  </scstep>
  <scstep/>
  <structure>
   <crystal>
    <varray name="basis" >
     <v>       4.00000000       0.00000000       0.00000000 </v>
     <v>       0.50000000       4.00000000       0.00000000 </v>
     <v>      -0.25000000      -0.12500000       4.00000000 </v>
    </varray>
   </crystal>
   <varray name="positions" >
    <v>       0.00000000       0.00000000       0.00000000 </v>
    <v>       0.25000000       0.25000000       0.50000000 </v>
   </varray>
  </structure>
  <varray name="forces" >
   <v>       0.10000000       0.00000000       0.00000000 </v>
   <v>      -0.10000000       0.00000000       0.00000000 </v>
  </varray>
  <varray name="stress" >
   <v>       1.00000000       0.10000000       0.30000000 </v>
   <v>       0.10000000       2.00000000       0.20000000 </v>
   <v>       0.30000000       0.20000000       3.00000000 </v>
  </varray>
  <energy>
   <i name="e_fr_energy">     -8.50000000 </i>
  </energy>
 </calculation>
 <calculation>
  <scstep/>
  <scstep/>
  <scstep/>
  <structure>
   <crystal>
    <varray name="basis" >
     <v>       4.00000000       0.00000000       0.00000000 </v>
     <v>       0.50000000       4.00000000       0.00000000 </v>
     <v>      -0.25000000      -0.12500000       4.00000000 </v>
    </varray>
   </crystal>
   <varray name="positions" >
    <v>       0.00250000       0.00000000       0.00000000 </v>
    <v>       0.25000000       0.25000000       0.50000000 </v>
   </varray>
  </structure>
  <varray name="forces" >
   <v>       0.20000000       0.00000000       0.00000000 </v>
   <v>      -0.20000000       0.00000000       0.00000000 </v>
  </varray>
  <energy>
   <i name="e_fr_energy">     -8.45000000 </i>
  </energy>
 </calculation>
</modeling>
"""


def main():
    nep_dir, deepmd_dir, bp_dir = sys.argv[1:4]
    si = os.path.join(ROOT, "examples", "si")
    frame = first_frame(os.path.join(si, "train.xyz"))
    put("extxyz", "si1.xyz", frame)
    put("extxyz", "ase.xyz", '2\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3:forces:R:3 energy=-8.5 stress="0 0 0 0 0 0" pbc="T T T"\nSi 0 0 0 0.1 0 0\nSi 1.3 1.4 1.2 -0.1 0 0\n')
    put("xsf", "crystal.xsf", "# total energy = -19960.66173260 eV\n\nCRYSTAL\nPRIMVEC\n"
        "5.934 0.0 0.0\n0.0 9.29699974 0.0\n0.0 0.0 4.64899994\nPRIMCOORD\n2 1\n"
        "Ti 4.42027297 7.02709599 2.24183899 0.07592985 -0.40427630 0.69417754\n"
        "O 4.35577500 5.60886900 0.86034600 0.58757519 -0.05353964 0.16937123\n")
    put("outcar", "si.OUTCAR", OUTCAR_SEED)
    put("vasprun", "si.xml", VASPRUN_SEED)
    put("xsf", "atoms.xsf", "ATOMS\nSi 0 0 0\nSi 1.2 1.3 1.1\n")
    put("nep_txt", "tiny.txt", "nep4 1 Si\ncutoff 5 4 10 10\nn_max 0 0\nbasis_size 0 0\nl_max 1 0 0\nANN 1 0\n"
        "3.0e-01\n-2.0e-01\n5.0e-01\n7.0e-01\n1.0e-01\n8.0e-01\n-4.0e-01\n1.0e+00\n1.0e+00\n")
    put("nep_txt", "trained.txt", open(os.path.join(nep_dir, "nep.txt")).read())
    put("deepmd_model", "model.yaml", b"\x00" + open(os.path.join(deepmd_dir, "model.yaml"), "rb").read())
    put("aenet_nn", "si.nn", open(os.path.join(bp_dir, "potential.Si.nn"), "rb").read())
    put("aenet_nn", "si.nn.ascii", open(os.path.join(bp_dir, "potential.Si.nn.ascii"), "rb").read())
    put("checkpoint", "adam.json", open(os.path.join(bp_dir, "checkpoint.json"), "rb").read())
    put("config_toml", "train.toml", open(os.path.join(si, "train.toml")).read())
    put("config_toml", "bp.toml", '[data]\ntrain = "train.xyz"\nvalidation_fraction = 0.1\n[model]\nfamily = "bp"\n'
        'radial_cutoff = 4.5\nradial_order = 6\nangular_cutoff = 3.5\nangular_order = 3\nhidden = [6, 6]\n'
        '[optimizer]\ntype = "fekf"\n[train]\nepochs = 2\n')
    put("nep_in", "nep.in", "type 1 Si\ncutoff 4.5 3.8\nn_max 3 3\nbasis_size 5 5\nl_max 4 2 0\nneuron 8\n"
        "lambda_e 1\nlambda_f 1\nlambda_v 0.1\nbatch 10\npopulation 20\ngeneration 100\nzbl 2\n")
    put("dp_input", "input.json", b"\x00" + open(os.path.join(ROOT, "src/train/deepmd_input/tests.rs")).read()
        .split('const WATER: &str = r#"')[1].split('"#;')[0].encode())
    put("dp_input", "input.yaml", b"\x01model:\n  type_map: [Si]\n  descriptor: {type: se_e2_a, sel: [40], rcut: 4.5, rcut_smth: 2.0, neuron: [4, 8], axis_neuron: 4}\n"
        b"  fitting_net: {neuron: [8, 8]}\ntraining:\n  training_data: {systems: [data], batch_size: 2}\n  numb_steps: 10\n")
    small = open(os.path.join(ROOT, "src/train/aenet_input/tests/small.rs")).read()
    generate = small.split('pub const GENERATE: &str = "')[1].split('";')[0]
    train = small.split('pub const TRAIN: &str = "')[1].split('";')[0]
    stp = small.split('format!(\n        "')[1].split('"\n    )')[0].replace("{el}", "Ti")
    put("aenet_inputs", "generate.in", b"\x00" + generate.encode())
    put("aenet_inputs", "train.in", b"\x01" + train.encode())
    put("aenet_inputs", "Ti.stp", b"\x02" + stp.encode())
    coord = [0.0, 0.0, 0.0, 1.3, 1.4, 1.2]
    cell = [4.0, 0, 0, 0, 4.0, 0, 0, 0, 4.0]
    put("npy", "coord.npy", npy((1, 6), coord))
    put("npy", "box32.npy", npy((1, 3, 3), cell, "<f4"))
    system = [b"Si\n", b"0 0\n", npy((1, 6), coord), npy((1, 9), cell), npy((1,), [-8.5]),
              npy((1, 6), [0.1, 0, 0, -0.1, 0, 0]), npy((1, 9), [0.0] * 9)]
    put("deepmd_system", "si2", b"@@FILE@@".join(system))


if __name__ == "__main__":
    main()
