//! Learning (issue 4): recommended patterns and timeouts from the telemetry history.
//! Placeholder until it lands: recommends nothing.
