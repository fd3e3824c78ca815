//! A time limit without `epochs` plans the run in wall time: the learning
//! rate anneals from its peak to `lr_min` as the time runs out, and the run
//! ends at the limit as a normal end, not an interruption. With `epochs`
//! too, the run ends at whichever comes first, annealed to that end.

mod common;

use common::TempDir;

#[test]
fn time_limit_alone_anneals_the_learning_rate_to_its_end() {
    let dir = TempDir::new("time-budget");
    let config = common::si_config(
        dir.path(),
        1,
        "type = \"adam\"\nlr = 0.004\nlr_min = 0.00004\nbatch_size = 8",
        "",
    );
    // The same configuration without `epochs`, with a 4 s budget.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("epochs = 1\n", "time_limit = 4\n");
    std::fs::write(&config, text).unwrap();
    let o = common::forcefit(&["train", "-q", "-j", "1", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (csv, rows) = loss_rows(dir.path());
    assert!(rows.len() >= 5, "a 4 s budget gives several epochs: {csv}");
    let (time, lr) = (|r: &Vec<f64>| r[2], |r: &Vec<f64>| r[3]);
    let last = rows.last().unwrap();
    assert!(
        time(last) >= 4.0 && time(last) < 6.0,
        "ends at the limit: {csv}"
    );
    // Cosine over the clock: at fraction x of the budget lr = lr_min +
    // (lr − lr_min)(1 + cos πx)/2; the last step comes just before the end.
    for r in &rows {
        let x = (time(r) / 4.0).min(1.0);
        let expected = 4e-5 + 0.5 * (4e-3 - 4e-5) * (1.0 + (std::f64::consts::PI * x).cos());
        // The epoch's last step was taken a little before the row's time.
        assert!(
            lr(r) >= expected * 0.999 && lr(r) <= expected + 4e-3 * 0.05,
            "lr {} at {} s, cosine over the clock gives {expected}",
            lr(r),
            time(r)
        );
    }
    assert!(
        lr(last) < 4e-4,
        "annealed near lr_min by the end: {}",
        lr(last)
    );
    assert!(
        lr(&rows[0]) > 3e-3,
        "starts near the peak: {}",
        lr(&rows[0])
    );
    let summary = std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap();
    assert!(
        summary.contains("\"stopped\": null"),
        "a planned end: {summary}"
    );
}

/// loss.csv's text and its rows as numbers (empty fields: NaN).
fn loss_rows(dir: &std::path::Path) -> (String, Vec<Vec<f64>>) {
    let csv = std::fs::read_to_string(dir.join("out/loss.csv")).unwrap();
    let rows = csv
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|x| x.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    (csv, rows)
}

/// `epochs` far beyond what the time allows, with a time limit: the run
/// ends at the limit as planned, its schedule annealed to that end rather
/// than cut in its first percent.
#[test]
fn epochs_and_a_time_limit_anneal_to_the_first_end() {
    let dir = TempDir::new("time-and-epochs");
    let config = common::si_config(
        dir.path(),
        100_000,
        "type = \"adam\"\nlr = 0.004\nlr_min = 0.00004\nbatch_size = 8",
        "time_limit = 3\n",
    );
    let o = common::forcefit(&["train", "-q", "-j", "1", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (csv, rows) = loss_rows(dir.path());
    let last = rows.last().unwrap();
    assert!(
        last[0] < 100_000.0 && last[2] >= 3.0,
        "ends at the limit: {csv}"
    );
    assert!(last[3] < 4e-4, "annealed near lr_min by the end: {csv}");
    let summary = std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap();
    assert!(
        summary.contains("\"stopped\": null"),
        "a planned end: {summary}"
    );
}
