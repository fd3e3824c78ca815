//! NEP4 (neuroevolution potential), as GPUMD and NEP_CPU compute it.
