//! The canary's pure part: the Kayenta-style final comparison ([`judge`]). Watching the
//! metric sources and rolling back are `homeostat::canary`.

pub mod judge;
pub mod stats;
