//! Ports of the systemd 257 primitives that decide what a unit file means:
//! word splitting, path checks, specifier expansion and number parsing.
//!
//! Each function follows its C original in systemd 257.13 (named in its
//! doc) closely enough that the differential tests against real systemd
//! find no disagreement; where a port leaves something out, its doc says
//! so. The parsers of individual directives are built from these.

pub mod extract;
pub mod number;
pub mod path;
pub mod specifier;
pub mod user;
