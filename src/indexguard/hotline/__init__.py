"""Evidence preservation and hotline reports: evidence packages with chain of custody and retention,
NCMEC CyberTipline report XML and outbox, IWF/INHOPE export bundles, transparency reports."""
