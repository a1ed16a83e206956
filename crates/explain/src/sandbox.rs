//! The model worker's sandbox. The worker is Airlock's own binary run as `airlock model-worker`;
//! it parses a GGUF file and runs a model, which is the most complex input Airlock reads that
//! does not come from the chain. It gets the model file to read and nothing else:
//!
//! - **bubblewrap** (where `bwrap` is installed): a fresh mount namespace holding only the system
//!   libraries, Airlock's executable and the model file, all read-only; no network namespace
//!   peers, its own PID namespace, no environment, and it dies with Airlock;
//! - **inside it, or alone where bubblewrap is missing**: the worker confines itself before it
//!   opens anything: a new network namespace where the kernel allows one, a seccomp filter that
//!   refuses `socket(2)` (so no network even where namespaces are not allowed), and a Landlock
//!   ruleset (Linux 5.13 and later) that allows reading the model file and its `tokenizer.json`
//!   and nothing else on the file system, no TCP bind or connect, no signals to or abstract
//!   sockets of processes outside it.
//!
//! With `--sandbox landlock` the worker refuses to run when the kernel cannot enforce Landlock;
//! inside bubblewrap Landlock is a second layer and taken as far as the kernel goes.

use std::path::{Path, PathBuf};

/// How the worker is confined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sandbox {
    /// bubblewrap at this path, and the worker's own confinement inside it.
    Bwrap(PathBuf),
    /// The worker's own confinement only (Landlock, seccomp, a network namespace).
    Landlock,
}

/// What the person asked for (`--model-sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxChoice {
    /// bubblewrap where installed, else Landlock.
    Auto,
    Bwrap,
    Landlock,
}

impl Sandbox {
    pub fn choose(choice: SandboxChoice) -> Result<Sandbox, String> {
        match choice {
            SandboxChoice::Landlock => Ok(Sandbox::Landlock),
            SandboxChoice::Bwrap => {
                find_bwrap().map(Sandbox::Bwrap).ok_or_else(|| "bubblewrap (bwrap) is not installed".to_owned())
            }
            SandboxChoice::Auto => Ok(find_bwrap().map(Sandbox::Bwrap).unwrap_or(Sandbox::Landlock)),
        }
    }

    /// The name the worker is told (`--sandbox`).
    pub fn name(&self) -> &'static str {
        match self {
            Sandbox::Bwrap(_) => "bwrap",
            Sandbox::Landlock => "landlock",
        }
    }

    /// The command that starts the worker for `model` (its tokenizer.json, if any, beside it),
    /// with no environment but `env`.
    pub fn command(&self, exe: &Path, model: &Path, env: &[(&str, &str)]) -> std::process::Command {
        let worker_args = |c: &mut std::process::Command| {
            c.arg("model-worker").arg("--model").arg(model).arg("--sandbox").arg(self.name());
        };
        match self {
            Sandbox::Landlock => {
                let mut c = std::process::Command::new(exe);
                c.env_clear().envs(env.iter().copied());
                worker_args(&mut c);
                c
            }
            Sandbox::Bwrap(bwrap) => {
                let mut c = std::process::Command::new(bwrap);
                c.args(["--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL"]);
                for (k, v) in env {
                    c.arg("--setenv").arg(k).arg(v);
                }
                // The system's libraries, read-only; on merged-/usr systems /lib is a link.
                for dir in ["/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache"] {
                    let p = Path::new(dir);
                    match std::fs::read_link(p) {
                        Ok(target) => {
                            c.arg("--symlink").arg(target).arg(p);
                        }
                        Err(_) if p.exists() => {
                            c.arg("--ro-bind").arg(p).arg(p);
                        }
                        Err(_) => {}
                    }
                }
                for file in
                    [Some(exe.to_owned()), Some(model.to_owned()), tokenizer_beside(model)].into_iter().flatten()
                {
                    c.arg("--ro-bind").arg(&file).arg(&file);
                }
                #[cfg(feature = "cuda")]
                for dev in nvidia_devices() {
                    c.arg("--dev-bind").arg(&dev).arg(&dev);
                }
                c.args(["--proc", "/proc", "--dev", "/dev", "--chdir", "/", "--"]).arg(exe);
                worker_args(&mut c);
                c
            }
        }
    }
}

fn find_bwrap() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("bwrap")).find(|p| p.is_file())
}

/// The `tokenizer.json` beside a model file, when there is one.
pub fn tokenizer_beside(model: &Path) -> Option<PathBuf> {
    let t = model.with_file_name("tokenizer.json");
    t.is_file().then_some(t)
}

#[cfg(feature = "cuda")]
fn nvidia_devices() -> Vec<PathBuf> {
    std::fs::read_dir("/dev")
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("nvidia")))
                .collect()
        })
        .unwrap_or_default()
}

/// What confinement took effect, for the person to read.
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    pub landlock: String,
    pub seccomp: bool,
    pub netns: bool,
}

impl std::fmt::Display for Confinement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "landlock {}", self.landlock)?;
        if self.seccomp {
            write!(f, ", seccomp (no sockets)")?;
        }
        if self.netns {
            write!(f, ", own network namespace")?;
        }
        Ok(())
    }
}

/// Confines this process to reading `files`: call it first thing in the worker, while the
/// process still has one thread (Landlock and seccomp bind the calling thread and what it
/// starts later). `strict`: Landlock must be enforced (the worker's only file-system wall).
#[cfg(target_os = "linux")]
pub fn confine(files: &[&Path], strict: bool) -> Result<Confinement, String> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
        RulesetCreatedAttr, RulesetStatus, Scope,
    };
    let netns = own_network_namespace();
    let abi = ABI::V6;
    let level = if strict { CompatLevel::SoftRequirement } else { CompatLevel::BestEffort };
    let mut read = AccessFs::ReadFile.into();
    if cfg!(feature = "cuda") {
        // The CUDA driver opens its libraries and devices as it goes.
        read = AccessFs::from_read(abi);
    }
    let mut created = Ruleset::default()
        .set_compatibility(level)
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
        .and_then(|r| r.scope(Scope::from_all(abi)))
        .and_then(|r| r.create())
        .map_err(|e| format!("Landlock: {e}"))?;
    for f in files {
        let fd = PathFd::new(f).map_err(|e| format!("{}: {e}", f.display()))?;
        created = created.add_rule(PathBeneath::new(fd, read)).map_err(|e| format!("Landlock: {e}"))?;
    }
    if cfg!(feature = "cuda") {
        for dir in ["/usr", "/lib", "/lib64", "/etc", "/proc", "/sys", "/dev"] {
            if let Ok(fd) = PathFd::new(dir) {
                let access = if dir == "/dev" { AccessFs::from_all(abi) } else { AccessFs::from_read(abi) };
                created = created.add_rule(PathBeneath::new(fd, access)).map_err(|e| format!("Landlock: {e}"))?;
            }
        }
    }
    let status = created.restrict_self().map_err(|e| format!("Landlock: {e}"))?;
    let landlock = match status.ruleset {
        RulesetStatus::FullyEnforced => "enforced".to_owned(),
        RulesetStatus::PartiallyEnforced => "partly enforced (an older kernel)".to_owned(),
        RulesetStatus::NotEnforced if strict => {
            return Err("this kernel does not enforce Landlock: install bubblewrap (bwrap), or run the model \
                        in-process (--model-process in-process)"
                .to_owned());
        }
        RulesetStatus::NotEnforced => "not available".to_owned(),
    };
    let seccomp = no_sockets()?;
    Ok(Confinement { landlock, seccomp, netns })
}

#[cfg(not(target_os = "linux"))]
pub fn confine(_files: &[&Path], _strict: bool) -> Result<Confinement, String> {
    Err("the model worker's sandbox needs Linux; run the model in-process (--model-process in-process)".to_owned())
}

/// A network namespace of its own: nothing to talk to. Allowed to root, and to others where
/// unprivileged user namespaces are; best effort (the seccomp filter stands either way).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn own_network_namespace() -> bool {
    // SAFETY: unshare takes flags only; on failure nothing changed.
    unsafe { libc::unshare(libc::CLONE_NEWNET) == 0 || libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0 }
}

/// A seccomp filter that makes `socket(2)` fail with EACCES, and kills the process for a
/// system call made under another architecture's numbering (which would slip past the filter).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn no_sockets() -> Result<bool, String> {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return Ok(false);
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W, sock_filter, sock_fprog};
        let stmt = |code: u32, k: u32| sock_filter { code: code as u16, jt: 0, jf: 0, k };
        let jump = |code: u32, k: u32, jt: u8, jf: u8| sock_filter { code: code as u16, jt, jf, k };
        let deny = libc::SECCOMP_RET_ERRNO | libc::EACCES as u32;
        // struct seccomp_data: nr at 0, arch at 4.
        let prog = [
            stmt(BPF_LD | BPF_W | BPF_ABS, 4),
            jump(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
            stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_KILL_PROCESS),
            stmt(BPF_LD | BPF_W | BPF_ABS, 0),
            // x32 system calls on x86_64 (bit 30) are refused outright.
            jump(BPF_JMP | BPF_JGE | BPF_K, 0x4000_0000, 2, 0),
            jump(BPF_JMP | BPF_JEQ | BPF_K, libc::SYS_socket as u32, 1, 0),
            stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
            stmt(BPF_RET | BPF_K, deny),
        ];
        let fprog = sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut sock_filter };
        // SAFETY: prctl with a filter that lives through the call; no_new_privs is required
        // for an unprivileged filter (Landlock set it already).
        let rc = unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog as *const sock_fprog)
        };
        if rc != 0 {
            return Err(format!("seccomp: {}", std::io::Error::last_os_error()));
        }
        Ok(true)
    }
}
