//! The GitHub forge (octocrab). Being written: see DESIGN.md "Issues from errors".

pub const DEFAULT_API: &str = "https://api.github.com";

pub struct GithubForge;

impl GithubForge {
    pub fn new(_api: &str, _token: &str, _repo: &str) -> crate::Result<Self> {
        Err(crate::Error::Failed("the GitHub forge is being written".into()))
    }
}
