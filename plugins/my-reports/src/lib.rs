//! # vox-my-reports — "Мои отчеты"
//!
//! (work in progress: storage first)

pub mod storage;
