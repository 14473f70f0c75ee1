//! Host tools for scratchnet: read the book's `sample_weight.pkl` without executing it,
//! convert it into a model blob, read the MNIST idx files, and find the data.
//!
//! The `scratchnet` command-line program (feature `cli`) is built on this library.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod assets;
pub mod convert;
pub mod data;
pub mod fast;
pub mod idx;
pub mod npy;
pub mod pickle;
#[cfg(feature = "cli")]
pub mod plot;
pub mod tflite;
