//! Reading and writing structure files (extended XYZ, DeePMD npy, aenet XSF).
