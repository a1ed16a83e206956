//! llama-server (tests/llama, built by tests/setup.sh) for the benches: started on a free port
//! with this machine's cores and no prompt cache, stopped when dropped.

use std::path::Path;
use std::time::{Duration, Instant};

pub struct Server {
    child: std::process::Child,
    pub url: String,
}

impl Server {
    /// Starts `bin` on `model` with extra `args`, and waits until it answers /health.
    pub async fn start(bin: &Path, model: &Path, args: &[&str]) -> Server {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).to_string();
        let child = std::process::Command::new(bin)
            .arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "-np", "1", "-t", &threads])
            .args(["--cache-reuse", "0", "--no-cache-prompt"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("llama-server");
        let server = Server { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(180);
        while !reqwest::get(format!("{}/health", server.url)).await.is_ok_and(|r| r.status().is_success()) {
            assert!(Instant::now() < deadline, "llama-server did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
