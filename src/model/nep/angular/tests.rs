use super::*;

fn unit(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

/// l_max 8 with every many-body invariant: 14 per channel.
fn all_terms() -> AngularTerms {
    AngularTerms {
        l_max: 8,
        four_body: true,
        five_body: true,
        q112: true,
        q123: true,
        q233: true,
        q134: true,
        flag_line: true,
    }
}

fn sums(seed: usize) -> Vec<f64> {
    (0..N_HARMONICS)
        .map(|i| ((i * 7 + seed) % 11) as f64 * 0.13 - 0.6)
        .collect()
}

#[test]
fn every_invariant_is_rotation_invariant() {
    // The invariants of a weighted set of directions must not change under
    // a rotation: a wrong sign or index in any monomial table breaks this.
    let dirs = [
        unit([1.0, 0.2, -0.3]),
        unit([-0.4, 0.9, 0.1]),
        unit([0.2, -0.1, 1.0]),
        unit([0.5, 0.5, -0.7]),
    ];
    let weights = [0.7, -0.3, 1.2, 0.4];
    let terms = all_terms();
    let n = terms.n_invariants();
    let q_of = |rot: &dyn Fn([f64; 3]) -> [f64; 3]| {
        let mut s = [0.0; N_HARMONICS];
        let mut y = [0.0; N_HARMONICS];
        for (d, w) in dirs.iter().zip(weights) {
            harmonics(rot(*d), MAX_L, &mut y);
            for c in 0..N_HARMONICS {
                s[c] += w * y[c];
            }
        }
        let mut q = vec![0.0; n];
        terms.invariants(&s, &mut q, 1);
        q
    };
    let (c, sn) = (0.6f64.cos(), 0.6f64.sin());
    let (c2, s2) = (1.1f64.cos(), 1.1f64.sin());
    let rotate = |v: [f64; 3]| {
        // about z, then about x
        let a = [c * v[0] - sn * v[1], sn * v[0] + c * v[1], v[2]];
        [a[0], c2 * a[1] - s2 * a[2], s2 * a[1] + c2 * a[2]]
    };
    let q0 = q_of(&|v| v);
    let q1 = q_of(&rotate);
    for i in 0..n {
        assert!(
            (q0[i] - q1[i]).abs() < 1e-12 * (1.0 + q0[i].abs()),
            "invariant {i}: {} vs {}",
            q0[i],
            q1[i]
        );
        // and none is trivially zero
        assert!(q0[i].abs() > 1e-6, "invariant {i} vanishes: {}", q0[i]);
    }
}

#[test]
fn invariant_backward_matches_finite_differences() {
    let terms = all_terms();
    let n = terms.n_invariants();
    let s = sums(3);
    let dq: Vec<f64> = (0..n)
        .map(|i| ((i * 5 + 1) % 7) as f64 * 0.3 - 0.9)
        .collect();
    let mut ds = vec![0.0; N_HARMONICS];
    terms.invariants_backward(&s, &dq, 1, &mut ds);
    let energy = |s: &[f64]| {
        let mut q = vec![0.0; n];
        terms.invariants(s, &mut q, 1);
        q.iter().zip(&dq).map(|(a, b)| a * b).sum::<f64>()
    };
    let h = 1e-6;
    for c in 0..N_HARMONICS {
        let (mut sp, mut sm) = (s.clone(), s.clone());
        sp[c] += h;
        sm[c] -= h;
        let fd = (energy(&sp) - energy(&sm)) / (2.0 * h);
        assert!(
            (ds[c] - fd).abs() < 1e-8,
            "component {c}: {} vs {fd}",
            ds[c]
        );
    }
}

#[test]
fn tangent_and_hessian_vector_product_match_finite_differences() {
    let terms = all_terms();
    let n = terms.n_invariants();
    let s = sums(1);
    let s_dot: Vec<f64> = (0..N_HARMONICS)
        .map(|i| ((i * 3 + 2) % 7) as f64 * 0.2 - 0.6)
        .collect();
    let dq: Vec<f64> = (0..n)
        .map(|i| ((i * 5 + 2) % 9) as f64 * 0.25 - 1.0)
        .collect();
    let h = 1e-6;
    let shifted = |t: f64| -> Vec<f64> { s.iter().zip(&s_dot).map(|(a, b)| a + t * b).collect() };
    let mut q_dot = vec![0.0; n];
    terms.invariants_tangent(&s, &s_dot, &mut q_dot, 1);
    let (mut qp, mut qm) = (vec![0.0; n], vec![0.0; n]);
    terms.invariants(&shifted(h), &mut qp, 1);
    terms.invariants(&shifted(-h), &mut qm, 1);
    for i in 0..n {
        let fd = (qp[i] - qm[i]) / (2.0 * h);
        assert!(
            (q_dot[i] - fd).abs() < 1e-8,
            "invariant {i}: {} vs {fd}",
            q_dot[i]
        );
    }
    let mut hvp = vec![0.0; N_HARMONICS];
    terms.invariants_hvp(&s, &s_dot, &dq, 1, &mut hvp);
    let (mut gp, mut gm) = (vec![0.0; N_HARMONICS], vec![0.0; N_HARMONICS]);
    terms.invariants_backward(&shifted(h), &dq, 1, &mut gp);
    terms.invariants_backward(&shifted(-h), &dq, 1, &mut gm);
    for c in 0..N_HARMONICS {
        let fd = (gp[c] - gm[c]) / (2.0 * h);
        assert!(
            (hvp[c] - fd).abs() < 1e-8,
            "component {c}: {} vs {fd}",
            hvp[c]
        );
    }
}

#[test]
fn strided_layout_is_invariant_major() {
    // [invariant][channel]: invariant i of channel n at i·stride + n.
    let terms = AngularTerms {
        q112: true,
        ..AngularTerms::new(3, true, false)
    };
    let s = sums(5);
    let mut packed = vec![0.0; terms.n_invariants()];
    terms.invariants(&s, &mut packed, 1);
    let mut strided = vec![f64::NAN; 3 * terms.n_invariants()];
    terms.invariants(&s, &mut strided[1..], 3);
    for (i, q) in packed.iter().enumerate() {
        assert_eq!(strided[1 + 3 * i], *q);
    }
    assert_eq!(packed[3], ManyBody::Q222.value(&s));
    assert_eq!(packed[4], ManyBody::Q112.value(&s));
}

#[test]
fn gpumd_values_and_their_defaults() {
    let t = AngularTerms::from_gpumd(&[4, 2, 0]).unwrap();
    assert_eq!(t, AngularTerms::new(4, true, false));
    assert_eq!(t.gpumd_values(), [4, 2, 0]);
    // GPUMD's defaults: q_222 on, the rest off; 1 is the newer 4-body flag.
    assert_eq!(
        AngularTerms::from_gpumd(&[6]).unwrap(),
        AngularTerms::new(6, true, false)
    );
    assert_eq!(AngularTerms::from_gpumd(&[4, 1]).unwrap(), t);
    let t = AngularTerms::from_gpumd(&[8, 1, 1, 0, 0, 1]).unwrap();
    assert!(t.four_body && t.five_body && t.q233 && !t.q112 && !t.q123 && !t.q134);
    assert!(t.flag_line);
    assert_eq!(t.n_invariants(), 11);
    assert_eq!(t.gpumd_values(), [8, 2, 1, 0, 0, 1]);
    assert_eq!(
        AngularTerms::from_gpumd(&[4, 0, 0, 0, 0, 0, 1])
            .unwrap()
            .gpumd_values(),
        [4, 0, 0, 0, 0, 0, 1]
    );
    for (values, needle) in [
        (&[][..], "1 to 7"),
        (&[4, 0, 0, 0, 0, 0, 0, 0][..], "1 to 7"),
        (&[9][..], "l_max 9 is not supported"),
        (&[4, 3][..], "q_222"),
        (&[4, 2, 2][..], "q_1111 flag"),
        (&[4, 2, 0, 0, 2][..], "q_123 flag"),
        (
            &[2, 0, 0, 0, 1][..],
            "q_123 term needs l_max (3-body) of at least 3",
        ),
        (
            &[3, 0, 0, 0, 0, 0, 1][..],
            "q_134 term needs l_max (3-body) of at least 4",
        ),
        (&[1, 2][..], "4-body term needs"),
    ] {
        let e = AngularTerms::from_gpumd(values).unwrap_err();
        assert!(e.contains(needle), "{values:?}: {e}");
    }
}
