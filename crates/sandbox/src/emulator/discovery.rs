//! Where the emulator's moto server comes from, so that `lifeboat emulator`
//! and `lifeboat demo` work from any directory, checkout or not. In order:
//!
//! 1. `LIFEBOAT_MOTO_SERVER`: a moto_server script of your own;
//! 2. `.venv/bin/moto_server` in this directory or above (a checkout after `make setup`);
//! 3. `moto_server` on PATH;
//! 4. the user's cache (`$XDG_CACHE_HOME` or `~/.cache`, then `lifeboat/moto-VERSION`),
//!    installed there once on first use, with Python's own venv and pip.
//!
//! The interpreter is the one named on moto_server's `#!` line: pip writes
//! it there, so the extensions run in the Python that has moto.

use super::EmulatorError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The moto the extensions are written and tested against.
pub const MOTO_VERSION: &str = "5.2.5";
/// What pip installs into the cache.
pub const MOTO_REQUIREMENT: &str = "moto[server]==5.2.5";
/// The pins moto's dependencies were tested with (the project's constraints file).
const CONSTRAINTS: &str = include_str!("../../../../constraints.txt");
/// A cached install is whole only once this file is written, last.
const COMPLETE_MARKER: &str = ".lifeboat-complete";

/// What discovery looks at: the process environment, captured once, so a
/// test can give it directories of its own.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub moto_server_setting: Option<PathBuf>,
    pub current_dir: PathBuf,
    pub path: Option<OsString>,
    pub cache_root: Option<PathBuf>,
    /// The Python that creates the cache's venv (`LIFEBOAT_PYTHON`, else python3 on PATH).
    pub python: Option<PathBuf>,
}

/// Where a moto_server was found, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Setting,
    Checkout,
    Path,
    Cache,
    Installed,
}

/// A moto_server to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub server: PathBuf,
    pub source: Source,
}

impl Discovery {
    pub fn from_env() -> Discovery {
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Discovery {
            moto_server_setting: non_empty("LIFEBOAT_MOTO_SERVER").map(PathBuf::from),
            current_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            path: non_empty("PATH"),
            cache_root: non_empty("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache"))),
            python: non_empty("LIFEBOAT_PYTHON").map(PathBuf::from),
        }
    }

    /// The cache directory moto is (or would be) installed in.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.cache_root
            .as_ref()
            .map(|root| root.join("lifeboat").join(format!("moto-{MOTO_VERSION}")))
    }

    /// A moto_server already on this machine, without installing anything;
    /// `say` hears why one was passed over.
    pub fn locate(&self, say: &mut dyn FnMut(&str)) -> Result<Option<Found>, EmulatorError> {
        if let Some(setting) = &self.moto_server_setting {
            if !setting.is_file() {
                return Err(EmulatorError::NotInstalled(format!(
                    "LIFEBOAT_MOTO_SERVER is {}, which does not exist: point it at a moto_server script (pip install '{MOTO_REQUIREMENT}'), or unset it",
                    setting.display()
                )));
            }
            return Ok(Some(found(setting.clone(), Source::Setting)));
        }
        let mut dir = self.current_dir.clone();
        loop {
            let candidate = dir.join(".venv/bin/moto_server");
            if candidate.is_file() {
                return Ok(Some(found(candidate, Source::Checkout)));
            }
            if !dir.pop() {
                break;
            }
        }
        // Someone else's moto on PATH serves only if it is the version the
        // extensions patch; otherwise lifeboat uses (or installs) its own.
        if let Some(on_path) = self.on_path("moto_server") {
            match moto_version(&interpreter_of(&on_path)) {
                Some(v) if v == MOTO_VERSION => return Ok(Some(found(on_path, Source::Path))),
                other => say(&format!(
                    "lifeboat: {} on PATH runs moto {}, not {MOTO_VERSION}: not using it",
                    on_path.display(),
                    other.as_deref().unwrap_or("(none importable)")
                )),
            }
        }
        if let Some(cache) = self.cache_dir()
            && cache.join(COMPLETE_MARKER).is_file()
            && cache.join("bin/moto_server").is_file()
        {
            return Ok(Some(found(cache.join("bin/moto_server"), Source::Cache)));
        }
        Ok(None)
    }

    /// [`Discovery::locate`], else a one-time install into the cache,
    /// announced (what, where, how big) through `say`.
    pub fn locate_or_install(&self, say: &mut dyn FnMut(&str)) -> Result<Found, EmulatorError> {
        if let Some(found) = self.locate(say)? {
            return Ok(found);
        }
        let cache = self.cache_dir().ok_or_else(|| {
            EmulatorError::NotInstalled(format!(
                "moto server not found and no cache directory (neither XDG_CACHE_HOME nor HOME is set): pip install '{MOTO_REQUIREMENT}' and put moto_server on PATH, or set LIFEBOAT_MOTO_SERVER"
            ))
        })?;
        self.install(&cache, say)?;
        Ok(found(cache.join("bin/moto_server"), Source::Installed))
    }

    fn install(&self, cache: &Path, say: &mut dyn FnMut(&str)) -> Result<(), EmulatorError> {
        let python = match &self.python {
            Some(p) => p.clone(),
            None => self.on_path("python3").ok_or_else(|| {
                EmulatorError::NotInstalled(format!(
                    "the emulator needs {MOTO_REQUIREMENT}, and python3 is not on PATH to install it: install Python 3.9 or later (or set LIFEBOAT_PYTHON), or set LIFEBOAT_MOTO_SERVER to a moto_server of your own"
                ))
            })?,
        };
        say(&format!(
            "lifeboat: the emulator needs {MOTO_REQUIREMENT}: not in LIFEBOAT_MOTO_SERVER, a checkout's .venv, PATH or the cache. Installing it once into {} (about 300 MB, a minute or two) with {}",
            cache.display(),
            python.display()
        ));
        // A half-made install (an earlier one interrupted) starts over.
        if cache.exists() {
            std::fs::remove_dir_all(cache).map_err(|e| io_error("remove the unfinished install", cache, &e))?;
        }
        std::fs::create_dir_all(cache).map_err(|e| io_error("create", cache, &e))?;
        let started = std::time::Instant::now();
        run_step(
            Command::new(&python).args(["-m", "venv"]).arg(cache),
            "create a Python venv",
            "install Python's venv module (Debian: apt install python3-venv)",
        )?;
        let constraints = cache.join("constraints.txt");
        std::fs::write(&constraints, CONSTRAINTS).map_err(|e| io_error("write", &constraints, &e))?;
        run_step(
            Command::new(cache.join("bin/python"))
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                .arg(MOTO_REQUIREMENT)
                .arg("-c")
                .arg(&constraints),
            &format!("pip install {MOTO_REQUIREMENT}"),
            "check the network or pip's proxy settings (PIP_INDEX_URL), or install it yourself and set LIFEBOAT_MOTO_SERVER",
        )?;
        if !cache.join("bin/moto_server").is_file() {
            return Err(EmulatorError::NotInstalled(format!(
                "pip installed {MOTO_REQUIREMENT} into {} but wrote no bin/moto_server: remove that directory and try again, or set LIFEBOAT_MOTO_SERVER",
                cache.display()
            )));
        }
        let marker = cache.join(COMPLETE_MARKER);
        std::fs::write(&marker, MOTO_REQUIREMENT).map_err(|e| io_error("write", &marker, &e))?;
        say(&format!(
            "lifeboat: installed {MOTO_REQUIREMENT} in {:.0} s: {} MB in {} (remove it to uninstall)",
            started.elapsed().as_secs_f64(),
            size_of(cache) / 1_000_000,
            cache.display()
        ));
        Ok(())
    }

    fn on_path(&self, name: &str) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        std::env::split_paths(path).map(|d| d.join(name)).find(|c| c.is_file())
    }
}

fn found(server: PathBuf, source: Source) -> Found {
    Found { server, source }
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> EmulatorError {
    EmulatorError::NotInstalled(format!("cannot {what} {}: {e}", path.display()))
}

/// Runs one install step; a failure names the step, its last output lines and the fix.
fn run_step(cmd: &mut Command, what: &str, fix: &str) -> Result<(), EmulatorError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EmulatorError::NotInstalled(format!("could not {what}: {e}: {fix}")))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(EmulatorError::NotInstalled(format!(
        "could not {what} ({}): {}: {fix}",
        out.status,
        tail.join(" | ")
    )))
}

/// Bytes under `dir` (files only; symlinks not followed).
fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => size_of(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// The Python that runs moto: the interpreter on moto_server's `#!` line
/// (through `env` if so written), else a python beside it, else python3 on
/// PATH (a pyenv shim's line names bash; its python3 shim resolves alike).
pub fn interpreter_of(server: &Path) -> PathBuf {
    let line = std::fs::read(server).ok().and_then(|bytes| {
        let first = bytes.split(|b| *b == b'\n').next()?.to_vec();
        String::from_utf8(first).ok()
    });
    let words: Vec<String> = line
        .as_deref()
        .and_then(|l| l.strip_prefix("#!"))
        .map(|rest| rest.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let named = match words.as_slice() {
        [env, program, ..] if env.ends_with("/env") => search_path(program),
        [interpreter, ..] => Some(PathBuf::from(interpreter)),
        [] => None,
    };
    let is_python = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("python"))
    };
    named
        .filter(is_python)
        .or_else(|| {
            ["python", "python3"]
                .iter()
                .map(|n| server.with_file_name(n))
                .find(|p| p.is_file())
        })
        .or_else(|| search_path("python3"))
        .unwrap_or_else(|| server.with_file_name("python"))
}

fn search_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|c| c.is_file())
}

/// The moto version `python` imports, if it imports one.
fn moto_version(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args(["-c", "import moto; print(moto.__version__)"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lifeboat-discovery-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn script(path: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn the_setting_then_the_checkout_then_path_then_the_cache() {
        let root = temp("order");
        let checkout = root.join("checkout");
        let nested = checkout.join("crates/cli");
        std::fs::create_dir_all(&nested).unwrap();
        let bin = root.join("bin");
        let cache_root = root.join("cache");
        let cached = cache_root.join(format!("lifeboat/moto-{MOTO_VERSION}"));
        // An interpreter that imports moto 5.2.5, as far as discovery can tell.
        let python = root.join("py/python3");
        script(&python, "#!/bin/sh\necho 5.2.5\n");
        for server in [
            checkout.join(".venv/bin/moto_server"),
            bin.join("moto_server"),
            cached.join("bin/moto_server"),
        ] {
            script(&server, &format!("#!{}\n", python.display()));
        }
        std::fs::write(cached.join(COMPLETE_MARKER), "").unwrap();
        let mine = root.join("mine/moto_server");
        script(&mine, "#!/opt/py/bin/python\n");

        let mut d = Discovery {
            moto_server_setting: Some(mine.clone()),
            current_dir: nested.clone(),
            path: Some(bin.clone().into_os_string()),
            cache_root: Some(cache_root.clone()),
            python: None,
        };
        assert_eq!(d.locate(&mut |_| {}).unwrap(), Some(found(mine, Source::Setting)));
        d.moto_server_setting = None;
        assert_eq!(
            d.locate(&mut |_| {}).unwrap(),
            Some(found(checkout.join(".venv/bin/moto_server"), Source::Checkout))
        );
        d.current_dir = root.clone();
        assert_eq!(
            d.locate(&mut |_| {}).unwrap(),
            Some(found(bin.join("moto_server"), Source::Path))
        );
        d.path = None;
        assert_eq!(
            d.locate(&mut |_| {}).unwrap(),
            Some(found(cached.join("bin/moto_server"), Source::Cache))
        );
        // An install that never finished does not count.
        std::fs::remove_file(cached.join(COMPLETE_MARKER)).unwrap();
        assert_eq!(d.locate(&mut |_| {}).unwrap(), None);
    }

    #[test]
    fn another_moto_version_on_path_is_passed_over_with_a_note() {
        let root = temp("version");
        let python = root.join("py/python3");
        script(&python, "#!/bin/sh\necho 5.2.1\n");
        let server = root.join("bin/moto_server");
        script(&server, "#!/usr/bin/env bash\nexec python3 -m moto.server \"$@\"\n");
        // pyenv's shims name bash: the interpreter is python3 beside it.
        std::fs::copy(&python, root.join("bin/python3")).unwrap();
        assert_eq!(interpreter_of(&server), root.join("bin/python3"));
        let d = Discovery {
            current_dir: root.clone(),
            path: Some(root.join("bin").into_os_string()),
            ..Discovery::default()
        };
        let mut said = Vec::new();
        assert_eq!(d.locate(&mut |l| said.push(l.to_string())).unwrap(), None);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("runs moto 5.2.1, not 5.2.5: not using it"), "{said:?}");
    }

    #[test]
    fn a_setting_that_points_nowhere_says_so_and_how_to_fix_it() {
        let d = Discovery {
            moto_server_setting: Some(PathBuf::from("/nowhere/moto_server")),
            ..Discovery::default()
        };
        let e = d.locate(&mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("LIFEBOAT_MOTO_SERVER is /nowhere/moto_server"), "{e}");
        assert!(e.contains("unset it"), "{e}");
    }

    /// The one-time install, with a stand-in `python3` whose venv's pip
    /// writes moto_server (and 2 MB): announced with where and how big, done
    /// once, and found in the cache afterwards.
    #[test]
    fn the_cache_is_installed_once_and_announced() {
        let root = temp("install");
        let venv_python = root.join("tools/venv-python");
        script(
            &venv_python,
            "#!/bin/sh\n\
             dir=\"$(cd \"$(dirname \"$0\")/..\" && pwd)\"\n\
             mkdir -p \"$dir/lib\"\n\
             head -c 2000000 /dev/zero > \"$dir/lib/moto.bin\"\n\
             printf '#!%s/bin/python\\n' \"$dir\" > \"$dir/bin/moto_server\"\n",
        );
        let fake_python = root.join("tools/python3");
        script(
            &fake_python,
            &format!(
                "#!/bin/sh\nmkdir -p \"$3/bin\" && cp {} \"$3/bin/python\"\n",
                venv_python.display()
            ),
        );
        let d = Discovery {
            current_dir: root.clone(),
            cache_root: Some(root.join("cache")),
            python: Some(fake_python),
            ..Discovery::default()
        };
        let mut said = Vec::new();
        let got = d.locate_or_install(&mut |line| said.push(line.to_string())).unwrap();
        let cache = d.cache_dir().unwrap();
        assert_eq!(got, found(cache.join("bin/moto_server"), Source::Installed));
        assert!(said[0].contains("Installing it once into"), "{said:?}");
        assert!(said[0].contains("MB"), "{said:?}");
        assert!(said[1].contains("installed moto[server]==5.2.5"), "{said:?}");
        assert!(said[1].contains(": 2 MB in "), "{said:?}");
        assert_eq!(interpreter_of(&got.server), cache.join("bin/python"));
        // The second time it is simply there.
        let mut again = Vec::new();
        let got = d.locate_or_install(&mut |line| again.push(line.to_string())).unwrap();
        assert_eq!(got.source, Source::Cache);
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn a_failed_install_names_the_step_and_the_fix_and_is_not_found_later() {
        let root = temp("failed");
        let fake_python = root.join("tools/python3");
        script(
            &fake_python,
            "#!/bin/sh\ndir=\"$3\"; mkdir -p \"$dir/bin\"\nprintf '#!/bin/sh\\necho \"ERROR: No matching distribution found for moto\" >&2; exit 1\\n' > \"$dir/bin/python\"; chmod +x \"$dir/bin/python\"\n",
        );
        let d = Discovery {
            current_dir: root.clone(),
            cache_root: Some(root.join("cache")),
            python: Some(fake_python),
            ..Discovery::default()
        };
        let e = d.locate_or_install(&mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("could not pip install moto[server]==5.2.5"), "{e}");
        assert!(e.contains("No matching distribution"), "{e}");
        assert!(e.contains("set LIFEBOAT_MOTO_SERVER"), "{e}");
        assert_eq!(d.locate(&mut |_| {}).unwrap(), None);
    }

    #[test]
    fn no_python_to_install_with_says_what_to_install() {
        let root = temp("nopython");
        let d = Discovery {
            current_dir: root.clone(),
            path: Some(root.join("empty").into_os_string()),
            cache_root: Some(root.join("cache")),
            ..Discovery::default()
        };
        let e = d.locate_or_install(&mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("python3 is not on PATH"), "{e}");
        assert!(e.contains("LIFEBOAT_MOTO_SERVER"), "{e}");
    }

    #[test]
    fn the_interpreter_is_the_one_on_the_shebang_line() {
        let root = temp("shebang");
        let server = root.join("bin/moto_server");
        script(&server, "#!/opt/python/bin/python3.12 -E\nimport moto\n");
        assert_eq!(interpreter_of(&server), PathBuf::from("/opt/python/bin/python3.12"));
        script(&root.join("bin/python"), "#!/bin/sh\n");
        script(&server, "#!/bin/sh\n'''exec' /very/long/python \"$0\" \"$@\"\n");
        assert_eq!(interpreter_of(&server), root.join("bin/python"));
    }
}
