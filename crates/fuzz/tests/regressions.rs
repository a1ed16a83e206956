//! Inputs the fuzz targets once failed on, each a named test: the bug it found stays fixed.

/// A target must return on these (it did not, or panicked, before the fix named beside each).
fn survives(target: &str, input: &[u8]) {
    let f = airlock_fuzz::TARGETS.iter().find(|(n, _)| *n == target).expect("a target").1;
    f(input);
}

/// Empty and one-byte inputs: the edge of every reader.
#[test]
fn the_smallest_inputs() {
    for (name, _) in airlock_fuzz::TARGETS {
        for input in [&b""[..], b"\x00", b"[", b"{", b"\"", b"\xff"] {
            survives(name, input);
        }
    }
}
