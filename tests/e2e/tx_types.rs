//! tx_types
