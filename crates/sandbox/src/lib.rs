//! lifeboat's local sandbox, apart from the product: the AWS emulator (moto
//! server with lifeboat's extensions, found or installed, on loopback), the
//! sample estate it seeds, the fault-injecting proxy that makes a Region or
//! Route 53 go dark, and the demo that runs a failover and failback through
//! them. The CLI links it for `lifeboat emulator` and `lifeboat demo`, the
//! tests build on it; no Lambda task compiles any of it.

pub mod demo;
pub mod emulator;
pub mod estate;
pub mod fault_proxy;
