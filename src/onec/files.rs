//! `.1CD` header and `.dt` stream checks, and generation of test infobases.
