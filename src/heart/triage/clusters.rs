//! One error, many tests (contract §10): failures whose error lines are equal once
//! normalised form a cluster. Normalised: every run of 8 or more hexadecimal digits, then
//! every run of decimal digits, becomes `#`; blanks collapse; case is kept.

use crate::data::caps::CLUSTER_MIN;
use std::collections::HashMap;

/// `error` normalised.
pub(crate) fn normalise(error: &str) -> String {
    let chars: Vec<char> = error.chars().collect();
    let mut hex_free = String::with_capacity(error.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if run >= 8 {
            hex_free.push('#');
            i += run;
        } else {
            hex_free.extend(&chars[i..i + run.max(1)]);
            i += run.max(1);
        }
    }
    let mut out = String::with_capacity(hex_free.len());
    let (mut digits, mut blank) = (false, false);
    for c in hex_free.trim().chars() {
        if c.is_ascii_digit() {
            if !digits {
                out.push('#');
            }
            digits = true;
            blank = false;
            continue;
        }
        digits = false;
        if c.is_whitespace() {
            if !blank {
                out.push(' ');
            }
            blank = true;
            continue;
        }
        blank = false;
        out.push(c);
    }
    out
}

/// The clusters among `errors` (one per failure, `None`: no error or not to be clustered),
/// each as its members' indices in order; only those of at least `CLUSTER_MIN`, in the
/// order of their first members.
pub(crate) fn clusters(errors: &[Option<&str>]) -> Vec<Vec<usize>> {
    let mut by_error: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, e) in errors.iter().enumerate() {
        let Some(e) = e else { continue };
        let n = *by_error.entry(normalise(e)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[n].push(i);
    }
    groups.retain(|g| g.len() >= CLUSTER_MIN);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        #[rustfmt::skip]
        let cases = [
            ("Error: VM vm-104 did not reach Ready within 900 s", "Error: VM vm-# did not reach Ready within # s"),
            ("plan 9e3779b9-365 failed", "plan #-# failed"),
            ("id deadbeefcafe0001 and abc123", "id # and abc#"),
            ("  many   blanks\there  ", "many blanks here"),
            ("Case Kept 12.5s", "Case Kept #.#s"),
            ("cafe 1234567 face", "cafe # face"),
            ("", ""),
        ];
        for (error, want) in cases {
            assert_eq!(normalise(error), want, "{error:?}");
        }
    }

    #[test]
    fn three_or_more_with_one_error_form_a_cluster() {
        let errors = [
            Some("Error: connect ECONNREFUSED 10.0.0.17:6443"),
            Some("AssertionError: expected 1 to equal 2"),
            Some("Error: connect ECONNREFUSED 10.0.0.18:6443"),
            None,
            Some("Error: connect  ECONNREFUSED 10.0.0.19:443"),
            Some("AssertionError: expected 3 to equal 4"),
        ];
        assert_eq!(clusters(&errors), vec![vec![0, 2, 4]]);
        assert!(clusters(&errors[..3]).is_empty(), "two are no cluster");
        let errors = [
            Some("x 1"),
            Some("y"),
            Some("x 2"),
            Some("y"),
            Some("y"),
            Some("x 3"),
        ];
        assert_eq!(clusters(&errors), vec![vec![0, 2, 5], vec![1, 3, 4]]);
    }
}
