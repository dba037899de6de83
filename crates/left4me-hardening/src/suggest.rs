//! Did-you-mean: the known name closest to a mistyped one.
//!
//! ```
//! use left4me_hardening::suggest;
//!
//! assert_eq!(suggest::closest("PrivatPIDs", ["PrivatePIDs", "PrivateTmp"]), Some("PrivatePIDs"));
//! assert_eq!(suggest::closest("sever", ["server", "web", "sysctl"]), Some("server"));
//! assert_eq!(suggest::closest("zzzz", ["server", "web", "sysctl"]), None);
//! assert_eq!(suggest::hint("sever", ["server"]), " (did you mean \"server\"?)");
//! ```

/// The candidate most like `word` (Jaro-Winkler similarity, case
/// ignored), if it is like enough to be what was meant (at least 0.8);
/// the first of equally close ones.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&word, &c.to_ascii_lowercase());
        if score >= 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// ` (did you mean "NAME"?)` for the closest candidate, or nothing.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean {c:?}?)"))
}
