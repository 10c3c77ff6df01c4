//! The canonical error event: reads our JSON lines, Sentry event JSON and raw log text. (being written)
