//! A writer for the terminal tree that the test can read back.

#![allow(dead_code)] // each test binary uses a part

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use spanflow::export::{TerminalExporter, TreeStyle};

/// What a terminal tree printed.
#[derive(Clone, Default)]
pub struct Printed(Arc<Mutex<Vec<u8>>>);

impl Printed {
    /// A terminal tree printing here, without colours.
    pub fn exporter(&self) -> TerminalExporter {
        TerminalExporter::to_writer(Box::new(self.clone()), TreeStyle::PLAIN)
    }

    /// A terminal tree printing here, each write `delay` late: an output
    /// slower than the spans it draws (a pipe, a log driver).
    pub fn slow_exporter(&self, delay: std::time::Duration) -> TerminalExporter {
        let slow = Slow {
            printed: self.clone(),
            delay,
        };
        TerminalExporter::to_writer(Box::new(slow), TreeStyle::PLAIN)
    }

    /// Everything printed so far.
    pub fn text(&self) -> String {
        let printed = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&printed).into_owned()
    }

    /// The header line of each tree printed so far.
    pub fn trees(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.starts_with("Trace:"))
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Printed {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut printed = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        printed.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Slow {
    printed: Printed,
    delay: std::time::Duration,
}

impl Write for Slow {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.delay);
        self.printed.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
