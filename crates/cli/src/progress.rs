//! Progress bars on stderr, hidden when stderr is not a terminal (pipes, tests, CI).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-counting progress bar with a label, or a hidden one off a terminal.
pub fn bytes_bar(total: u64, label: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let template = "{msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}
