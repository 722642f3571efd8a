//! The console's /console/subjects pages in a real browser (see browser.rs for the driver).
