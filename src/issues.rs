//! One issue per fingerprint: the hs-issue loop (being written).
