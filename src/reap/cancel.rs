//! Stopping a run from outside (SIGINT, SIGTERM, SIGHUP, or `--deadline`): the engine
//! sends no new DELETE once told, and stops waiting at once.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;

/// What stopped a run: a signal, or the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Interrupt {
    #[serde(rename = "SIGINT")]
    Sigint,
    #[serde(rename = "SIGTERM")]
    Sigterm,
    #[serde(rename = "SIGHUP")]
    Sighup,
    /// `--deadline` passed.
    #[serde(rename = "deadline")]
    Deadline,
}

impl Interrupt {
    pub fn name(self) -> &'static str {
        match self {
            Interrupt::Sigint => "SIGINT",
            Interrupt::Sigterm => "SIGTERM",
            Interrupt::Sighup => "SIGHUP",
            Interrupt::Deadline => "`--deadline`",
        }
    }

    /// A signal, rather than the deadline.
    pub fn is_signal(self) -> bool {
        self != Interrupt::Deadline
    }

    /// How the run's message says it stopped.
    pub fn stopped(self) -> String {
        match self {
            Interrupt::Deadline => "stopped at `--deadline`".to_string(),
            signal => format!("interrupted by {}", signal.name()),
        }
    }
}

/// Shared by whoever stops the run and the engine; the first interrupt wins.
#[derive(Debug, Clone)]
pub struct Cancel {
    // The sender lives as long as any clone, so waiting never ends by the channel closing.
    state: Arc<watch::Sender<Option<Interrupt>>>,
}

impl Default for Cancel {
    fn default() -> Cancel {
        Cancel {
            state: Arc::new(watch::Sender::new(None)),
        }
    }
}

impl Cancel {
    /// Stops the run; later calls change nothing.
    pub fn interrupt(&self, signal: Interrupt) {
        self.state.send_if_modified(|state| {
            let first = state.is_none();
            if first {
                *state = Some(signal);
            }
            first
        });
    }

    /// The interrupt, if there was one.
    pub fn interrupted(&self) -> Option<Interrupt> {
        *self.state.borrow()
    }

    /// Returns when the run is interrupted.
    pub async fn wait(&self) -> Interrupt {
        let mut watching = self.state.subscribe();
        let signal = watching
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|state| *state);
        match signal {
            Some(signal) => signal,
            // Never: `self` holds the sender, so the channel stays open.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_interrupt_wins_and_wakes_every_waiter() {
        let cancel = Cancel::default();
        assert_eq!(cancel.interrupted(), None);
        let waiter = tokio::spawn({
            let cancel = cancel.clone();
            async move { cancel.wait().await }
        });
        cancel.interrupt(Interrupt::Sigterm);
        cancel.interrupt(Interrupt::Sigint);
        assert_eq!(waiter.await.unwrap(), Interrupt::Sigterm);
        assert_eq!(cancel.interrupted(), Some(Interrupt::Sigterm));
        assert_eq!(cancel.wait().await, Interrupt::Sigterm);
    }
}
