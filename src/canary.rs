//! hs-canary's flags.

use homeostat::canary::FailOn as LibFailOn;

crate::value_enum! {
    /// `--fail-on`: which decisions make hs-canary exit 3.
    FailOn => LibFailOn {
        /// Exit 3 on rollback.
        Rollback,
        /// Exit 3 on rollback or inconclusive (anything but promote).
        Inconclusive,
    }
}
