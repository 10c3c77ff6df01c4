//! The versions of the fingerprint algorithm, shared by stack-trace parsing
//! (`event::stack`) and grouping (`fingerprint`).

/// The versions of the grouping algorithm. The previous one is still computed, as an
/// alias, so an issue filed under it is found after an upgrade (DESIGN.md: "old markers
/// keep matching through an alias table").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// The first release.
    V1,
    /// Real-world fixes (issue 16): esbuild/Vite hashes, Go `-trimpath`, Rust panic
    /// locations, JVM native first frames, .NET Framework messages and Application
    /// Insights frames, `logentry` templates, JavaScript frame tails.
    V2,
    /// Traces as people paste them (issue 16's real-world corpus): a trace that reads
    /// badly is repaired and read again (`stack::repair`); Mono and localised .NET frames.
    V3,
}

impl Algorithm {
    pub const CURRENT: Algorithm = Algorithm::V3;
    /// The versions whose fingerprints are computed as aliases of the current one.
    pub const PREVIOUS: [Algorithm; 2] = [Algorithm::V2, Algorithm::V1];

    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::V1 => "v1",
            Algorithm::V2 => "v2",
            Algorithm::V3 => "v3",
        }
    }
}
