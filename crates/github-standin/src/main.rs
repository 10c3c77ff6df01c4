//! `github-standin --listen 127.0.0.1:PORT [--repo owner/name] [--git BARE_REPO]`: serves the stand-in until
//! interrupted, printing its URL. State, faults and the request log are under `/_standin/`.

fn main() -> anyhow::Result<()> {
    let mut listen = "127.0.0.1:0".to_string();
    let mut repo = github_standin::REPO.to_string();
    let mut git_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().ok_or_else(|| anyhow::anyhow!("--listen needs ADDR:PORT"))?,
            "--repo" => repo = args.next().ok_or_else(|| anyhow::anyhow!("--repo needs owner/name"))?,
            "--git" => git_dir = Some(args.next().ok_or_else(|| anyhow::anyhow!("--git needs a bare repository"))?),
            "-h" | "--help" => {
                println!("github-standin [--listen 127.0.0.1:PORT] [--repo owner/name] [--git BARE_REPO]");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let (owner, name) = repo.split_once('/').ok_or_else(|| anyhow::anyhow!("--repo {repo:?} is not owner/name"))?;
    let listener = std::net::TcpListener::bind(&listen)?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut state = github_standin::State::new(owner, name);
    state.git_dir = git_dir;
    let standin = github_standin::Standin::serve(listener, url, state)?;
    println!("{}", standin.url());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(tokio::signal::ctrl_c())?;
    Ok(())
}
