//! The console's /console/requests pages in a real browser (see browser.rs for the driver).
