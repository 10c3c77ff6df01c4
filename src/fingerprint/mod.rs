//! Stack parsing per platform, normalisation, in-app selection, fingerprint rules, SHA-256 (being written).
