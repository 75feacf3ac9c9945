"""Job history in SQL: tables, the monitor's recorder and the web's reader."""
