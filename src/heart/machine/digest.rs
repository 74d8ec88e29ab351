//! What a run keeps of the digest's events (contract §9) for its post: the failure list's
//! entries, the reasons of specs that failed without one, retried tests that passed, and
//! a Cypress result's rows; each capped per run and per request, and never counted twice.

use super::{Machine, Step};
use crate::data::build_state::Target;
use crate::data::caps::{
    BUILD_MAX_FAILED_SPECS, BUILD_MAX_FAILURES, BUILD_MAX_FLAKY, BUILD_MAX_SPECS, MAX_FAILED_SPECS,
    MAX_FAILURES, MAX_FLAKY, MAX_SPECS,
};
use crate::data::run::{Failure, Flaky};
use crate::heart::matcher::{Event, RunResult};

impl Machine {
    /// A Cypress result's details, kept for the post. A failed spec that gave no failure
    /// list is a failure of its own, with the reason seen for it (contract §9); the
    /// failures are kept in the order of the table's specs, which is the log's.
    pub(super) fn record_result(&mut self, t: Target, r: &RunResult) {
        let st = &self.state;
        let specs_room = st.room(t, MAX_SPECS, BUILD_MAX_SPECS, |r| r.specs.len());
        let failed_room = st.room(t, MAX_FAILED_SPECS, BUILD_MAX_FAILED_SPECS, |r| {
            r.failed_specs.len()
        });
        let failures_room = st.room(t, MAX_FAILURES, BUILD_MAX_FAILURES, |r| r.failures.len());
        let run = self.state.run_of_mut(t);
        run.tests = r.tests;
        run.duration = r.duration.clone();
        run.failed_specs = r.failed_specs.iter().take(failed_room).cloned().collect();
        run.specs = r.specs.iter().take(specs_room).cloned().collect();
        let reasons = std::mem::take(&mut run.spec_errors);
        let mut failures = std::mem::take(&mut run.failures);
        for spec in &r.failed_specs {
            if !failures.iter().any(|f| f.spec == *spec) {
                let reason = reasons.iter().find(|x| x.spec == *spec);
                failures.push(Failure::new(
                    spec.clone(),
                    None,
                    reason.and_then(|x| x.error.clone()),
                ));
            }
        }
        let position = |spec: &str| r.specs.iter().position(|s| s.name == spec);
        failures.sort_by_key(|f| position(&f.spec).unwrap_or(usize::MAX));
        failures.truncate(failures_room);
        run.failures = failures;
    }

    /// A digest event (contract §9) of run `t`, for the spec in progress; capped, and
    /// never twice (a restart reads an open failure list again: its entries are counted).
    pub(super) fn digest_event(&mut self, t: Target, ev: &Event, step: &mut Step) {
        let progress = match t {
            Target::Run => &self.state.progress,
            Target::Subrun(i) => &self.state.subruns[i].progress,
        };
        let Some(spec) = progress.as_ref().map(|p| p.spec.clone()) else {
            return;
        };
        let st = &self.state;
        let failures_room = st.room(t, MAX_FAILURES, BUILD_MAX_FAILURES, |r| r.failures.len());
        let errors_room = st.room(t, MAX_FAILURES, BUILD_MAX_FAILURES, |r| r.spec_errors.len());
        let flaky_room = st.room(t, MAX_FLAKY, BUILD_MAX_FLAKY, |r| r.flaky.len());
        let run = self.state.run_of_mut(t);
        match ev {
            Event::TestFailed {
                number,
                title,
                error,
            } if *number > run.list_seen => {
                run.list_seen = *number;
                step.changed = true;
                if run.failures.len() < failures_room {
                    run.failures
                        .push(Failure::new(spec, Some(title.clone()), error.clone()));
                }
            }
            Event::SpecError(line)
                if run.spec_errors.len() < errors_room
                    && !run.spec_errors.iter().any(|x| x.spec == spec) =>
            {
                run.spec_errors
                    .push(Failure::new(spec, None, Some(line.clone())));
                step.changed = true;
            }
            Event::Flaky { title, attempts } => {
                let seen = run
                    .flaky
                    .iter()
                    .any(|f| f.spec == spec && f.title == *title);
                if run.flaky.len() < flaky_room && !seen {
                    run.flaky.push(Flaky {
                        spec,
                        title: title.clone(),
                        attempts: *attempts,
                    });
                    step.changed = true;
                }
            }
            _ => {}
        }
    }
}
