#!/usr/bin/perl
# The classic: CGI.pm parses the request, prints a header and the body.
use strict;
use warnings;
use CGI;

my $q = CGI->new;
print $q->header(-type => 'text/plain'), 'Hello';
