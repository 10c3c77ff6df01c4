//! Personal data and secret scrubbing; rules as data in policies/scrub.yml. (being written)
