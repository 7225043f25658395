//! ChartError: every error names the repository (redacted), the chart and the version.
