//! The desktop app's speed figures for BENCHMARKS.md: cold start to an
//! interactive window, idle memory, and how soon the inbox shows a new
//! request. `bench/desktop.sh` runs these on a release build under Xvfb;
//! they print figures and assert only that the app did its job, never a time.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// The binary to measure: the release build `bench/desktop.sh` made with
/// plain `cargo build --release` (no test features), else this build's.
fn application() -> String {
    std::env::var("UMA_WALLET_DESKTOP_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_uma-wallet-desktop").to_string())
}

fn summary(label: &str, mut samples: Vec<f64>, unit: &str) {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label}: median {:.0} {unit}, p90 {:.0} {unit}, min {:.0}, max {:.0} ({} runs)",
        at(0.5),
        at(0.9),
        samples[0],
        samples[samples.len() - 1],
        samples.len()
    );
}

/// From exec to the window's first question to the app (React mounted and
/// calling Rust): the app logs "window interactive" then.
#[test]
#[ignore = "a benchmark: run by bench/desktop.sh under Xvfb"]
fn cold_start_to_an_interactive_window() {
    let application = application();
    for existing in [false, true] {
        let (mut outside, mut inside) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            if existing {
                wallet::Wallet::init(dir.path(), PASSPHRASE, wallet::KdfParams::default()).unwrap();
            }
            let started = Instant::now();
            let mut app = Command::new(&application)
                .args(["--data-dir", dir.path().to_str().unwrap(), "--listen", "127.0.0.1:0"])
                .env("UMA_WALLET_LOG", "warn,uma_wallet_desktop=info")
                .env("NO_COLOR", "1")
                .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
                .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
                .env("NO_AT_BRIDGE", "1")
                .stderr(Stdio::piped())
                .spawn()
                .expect("the app starts");
            let mut lines = BufReader::new(app.stderr.take().unwrap()).lines();
            let line = loop {
                let line = lines.next().expect("the app logs until interactive").unwrap();
                if line.contains("window interactive") {
                    break line;
                }
            };
            outside.push(started.elapsed().as_secs_f64() * 1000.0);
            let ms: f64 = line.rsplit("elapsed_ms=").next().unwrap().trim().parse().unwrap();
            inside.push(ms);
            let _ = app.kill();
            let _ = app.wait();
        }
        let screen = if existing { "unlock screen (wallet exists)" } else { "first-run screen" };
        summary(&format!("cold start to {screen}, from exec"), outside, "ms");
        summary(&format!("cold start to {screen}, from main()"), inside, "ms");
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}


/// The owner's real session (create, the first run finding and accepting three pensions, view
/// them), then idle; then clients ask one after another while the window
/// shows Pensions, and each time the badge is watched for the new count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by bench/desktop.sh under Xvfb"]
async fn idle_memory_and_inbox_latency() {
    let mut scene = Scene::launch(&application()).await;
    scene.create_wallet().await;
    scene.first_run().await;
    scene.ui.open("pensions").await;
    scene.ui.wait_for_count("[data-testid=pension-card]", 3).await;

    let server: serde_json::Value = serde_json::from_slice(&std::fs::read(scene.data_dir.join("server.json")).unwrap()).unwrap();
    let pid = server["pid"].as_u64().unwrap() as u32;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let app = rss_kib(pid).unwrap();
    println!("idle RSS of the app process (pid {pid}): {:.1} MiB", app as f64 / 1024.0);
    // RSS counts every shared library page the process touched; PSS splits
    // shared pages among the processes mapping them; anonymous is its own heap.
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    for field in ["Pss:", "Anonymous:", "Shared_Clean:"] {
        let kib: f64 = rollup.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).unwrap().parse().unwrap();
        println!("  {field} {:.1} MiB", kib / 1024.0);
    }
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    println!("  software GL (Mesa's LLVM) loaded: {}", maps.contains("libLLVM"));
    let mut total = app;
    for (child, name) in children(pid) {
        if let Some(rss) = rss_kib(child) {
            println!("  child {name} (pid {child}): {:.1} MiB", rss as f64 / 1024.0);
            total += rss;
        }
    }
    println!("idle RSS with WebKit's child processes: {:.1} MiB", total as f64 / 1024.0);

    let mut latencies = Vec::new();
    for n in 1..=20 {
        let (_, _, _, answered) = scene.client_asks(&format!("Client {n}")).await;
        let expected = n.to_string();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let badge = scene.ui.client.find(fantoccini::Locator::Css("[data-testid=requests-badge]")).await;
            if let Ok(badge) = badge {
                if badge.text().await.map(|t| t.trim() == expected).unwrap_or(false) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "the badge never showed {n}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(answered.elapsed().as_secs_f64() * 1000.0);
    }
    summary("inbox badge shows a new request, after the client's token answer", latencies, "ms");
    scene.ui.client.clone().close().await.unwrap();
}

/// CPU seconds (user and system, every thread) a process has used, and its
/// context switches (voluntary and not, every thread): how often it woke.
fn cpu_and_wakeups(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let mut switches = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
        for line in status.lines().filter(|l| l.contains("ctxt_switches:")) {
            switches += line.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    (ticks / USER_HZ, switches)
}

/// The unit of /proc's CPU times: 100 a second on Linux's x86-64 and arm64.
const USER_HZ: f64 = 100.0;

/// The app as it runs after a login: started by the system with
/// `--minimized`, opening the wallet with the passphrase the keyring keeps,
/// in the tray with no window; then left alone. Its CPU time, wake-ups and
/// resident memory over `IDLE_SECONDS` (600 unless set). Then the window is
/// opened and closed again, and the tray app measured once more. Needs a
/// Secret Service on the session bus (bench/desktop.sh starts
/// gnome-keyring-daemon).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by bench/desktop.sh under Xvfb"]
async fn idle_in_the_tray() {
    let idle = Duration::from_secs(std::env::var("IDLE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(600));
    let home = tempfile::tempdir().unwrap();
    let data_dir = home.path().join("wallet");
    wallet::Wallet::init(&data_dir, PASSPHRASE, wallet::KdfParams::default()).unwrap();
    wallet::login_keyring::remember(&data_dir, PASSPHRASE).unwrap();
    let settings = serde_json::json!({ "listen": format!("127.0.0.1:{}", free_port()), "start_at_login": false, "unlock_at_login": true });
    std::fs::write(data_dir.join("desktop.json"), settings.to_string()).unwrap();

    let mut app = Command::new(application())
        .args(["--minimized", "--data-dir"])
        .arg(&data_dir)
        .env("HOME", home.path())
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("NO_AT_BRIDGE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = app.id();
    // Open and serving: the server writes server.json once it listens.
    let deadline = Instant::now() + PATIENCE;
    while !data_dir.join("server.json").exists() {
        assert!(Instant::now() < deadline, "the wallet did not open itself from the keyring");
        assert!(app.try_wait().unwrap().is_none(), "the app ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Past start-up's work (the window's page loading hidden, first housekeeping).
    tokio::time::sleep(Duration::from_secs(20)).await;
    report_idle("idle in the tray, the window never opened", pid, idle).await;

    // Opened (as a second start, or the tray's "Open wallet", does) and closed.
    let second = Command::new(application()).arg("--data-dir").arg(&data_dir).env("HOME", home.path()).env("NO_AT_BRIDGE", "1").status().unwrap();
    assert!(second.success(), "the second start hands over");
    let deadline = Instant::now() + PATIENCE;
    let shown = window_opens().await;
    // Its page drawn and settled.
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!("  with the window open: RSS {:.1} MiB", rss_kib(pid).unwrap() as f64 / 1024.0);
    ask_to_close(shown);
    while !windows_showing("Pension Wallet").is_empty() {
        assert!(Instant::now() < deadline, "the window did not close");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    report_idle("idle in the tray after the window was opened and closed", pid, idle.min(Duration::from_secs(120))).await;
    let _ = app.kill();
    let _ = app.wait();
}

/// CPU time, wake-ups and memory of the app (and its children) over `idle`.
async fn report_idle(what: &str, pid: u32, idle: Duration) {
    let (cpu0, woke0) = cpu_and_wakeups(pid);
    let started = Instant::now();
    tokio::time::sleep(idle).await;
    let (cpu1, woke1) = cpu_and_wakeups(pid);
    let seconds = started.elapsed().as_secs_f64();
    let rss = rss_kib(pid).unwrap();
    println!("{what}, {seconds:.0} s: CPU {:.2} s ({:.3}% of one core), {:.1} wake-ups/s", cpu1 - cpu0, (cpu1 - cpu0) / seconds * 100.0, (woke1 - woke0) as f64 / seconds);
    println!("  RSS of the app process: {:.1} MiB", rss as f64 / 1024.0);
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    for field in ["Pss:", "Anonymous:", "Shared_Clean:"] {
        let kib: f64 = rollup.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).unwrap().parse().unwrap();
        println!("  {field} {:.1} MiB", kib / 1024.0);
    }
    for (child, name) in children(pid) {
        let (cpu, _) = cpu_and_wakeups(child);
        println!("  child {name}: {:.1} MiB, {cpu:.2} CPU s since it started", rss_kib(child).unwrap_or(0) as f64 / 1024.0);
    }
}

/// The command line beside the app measured: `bench/desktop.sh` copies the
/// release build of both into one folder, as the `.deb` installs them.
fn server_program() -> std::path::PathBuf {
    let program = std::path::Path::new(&application()).with_file_name("uma-wallet");
    assert!(program.is_file(), "uma-wallet beside {}: bench/desktop.sh builds it", application());
    program
}

/// What runs all day on Linux with the `.deb`: the login entry's
/// `uma-wallet serve --locked --unlock-from-keyring --tray`, opened from the
/// keyring, its icon in a panel's tray (Debian's status-notifier-watcher
/// and this test as the host). Its CPU time, wake-ups and resident memory
/// over `IDLE_SECONDS` (600 unless set); then the app opened from the tray
/// with its window (both measured), closed (the app ends), and the server
/// measured again over 120 seconds at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by bench/desktop.sh under Xvfb"]
async fn idle_in_the_tray_as_at_login() {
    let idle = Duration::from_secs(std::env::var("IDLE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(600));
    let home = tempfile::tempdir().unwrap();
    let data_dir = home.path().join("wallet");
    wallet::Wallet::init(&data_dir, PASSPHRASE, wallet::KdfParams::default()).unwrap();
    wallet::login_keyring::remember(&data_dir, PASSPHRASE).unwrap();
    let panel = Panel::start().await;
    let mut server = Ending(Command::new(server_program())
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["serve", "--locked", "--unlock-from-keyring", "--tray", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("NO_AT_BRIDGE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let pid = server.0.id();
    let item = panel.item_of(pid).await;
    let deadline = Instant::now() + PATIENCE;
    while !panel.menu(&item).await.iter().any(|(_, label)| label.starts_with("Open:")) {
        assert!(Instant::now() < deadline, "the wallet did not open itself from the keyring");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    report_idle("the server in the tray as at login, opened from the keyring", pid, idle).await;

    panel.click(&item, "Open wallet").await;
    let deadline = Instant::now() + PATIENCE;
    let shown = window_opens().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let app = children(pid).into_iter().find(|(_, name)| name.starts_with("uma-wallet-desk")).expect("the app, started by the tray").0;
    let web: u64 = children(app).iter().filter_map(|(child, _)| rss_kib(*child)).sum();
    println!(
        "  with the window open: server {:.1} MiB, app {:.1} MiB, its WebKit processes {:.1} MiB",
        rss_kib(pid).unwrap() as f64 / 1024.0,
        rss_kib(app).unwrap() as f64 / 1024.0,
        web as f64 / 1024.0
    );
    // A close asked while WebKit still loads can go unanswered: ask again.
    while std::path::Path::new(&format!("/proc/{app}")).exists() {
        assert!(Instant::now() < deadline + PATIENCE, "the app did not end with its window");
        if windows_showing("Pension Wallet").contains(&shown) {
            ask_to_close(shown);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    report_idle("the server in the tray after the app was opened and closed", pid, idle.min(Duration::from_secs(120))).await;
    panel.click(&item, "Quit").await;
    let deadline = Instant::now() + PATIENCE;
    while server.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "Quit did not stop the server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The app's window, once it shows (within PATIENCE).
async fn window_opens() -> u32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(&window) = windows_showing("Pension Wallet").first() {
            return window;
        }
        assert!(Instant::now() < deadline, "the window did not open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
