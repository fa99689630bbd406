// Package htmlreport renders chatstage's data-quality report as one HTML
// page that needs nothing but itself: the CSS is inline, the charts are
// inline SVG drawn here, and there is no JavaScript, so the page reads the
// same offline, from a mail attachment or an archive years later.
//
// It owns the page: its layout, the charts (scales, ticks, colours, empty
// states) and the escaping of every string that comes from the data, which
// goes through html/template because chat sources, file names and error
// texts are not to be trusted.
//
// It must never fetch anything, nor make the page fetch anything: no
// scripts, no links, no fonts or images from elsewhere. It never talks to a
// database either: the caller gathers a Data (package store does the
// queries) and this package only draws it.
package htmlreport
