//! Chemical elements: symbols and atomic numbers.

/// Element symbols in order of atomic number (index 0 is Z = 1).
const SYMBOLS: [&str; 118] = [
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl",
    "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In",
    "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb",
    "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl",
    "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk",
    "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh",
    "Fl", "Mc", "Lv", "Ts", "Og",
];

/// Atomic number of an element symbol (exact, case-sensitive: "Pb", not "PB").
pub fn atomic_number(symbol: &str) -> Option<u32> {
    SYMBOLS
        .iter()
        .position(|&s| s == symbol)
        .map(|i| i as u32 + 1)
}

/// Element symbol of an atomic number (1..=118).
pub fn symbol(z: u32) -> Option<&'static str> {
    SYMBOLS.get((z as usize).wrapping_sub(1)).copied()
}

/// Chemical species present in `structures`, sorted by atomic number.
pub fn species_of(structures: &[crate::structure::Structure]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in structures {
        for sp in &s.species {
            if !out.contains(sp) {
                out.push(sp.clone());
            }
        }
    }
    out.sort_by_key(|s| atomic_number(s).unwrap_or(0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_elements() {
        assert_eq!(atomic_number("H"), Some(1));
        assert_eq!(atomic_number("Te"), Some(52));
        assert_eq!(atomic_number("Pb"), Some(82));
        assert_eq!(atomic_number("Mo"), Some(42));
        assert_eq!(atomic_number("Og"), Some(118));
        assert_eq!(atomic_number("Xx"), None);
        assert_eq!(symbol(73), Some("Ta"));
        assert_eq!(symbol(0), None);
    }
}
