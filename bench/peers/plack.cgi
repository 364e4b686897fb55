#!/usr/bin/perl
# A PSGI app served by Plack::Handler::CGI, Perl's framework-neutral CGI bridge.
use strict;
use warnings;
use Plack::Handler::CGI;

my $app = sub { [200, ['Content-Type' => 'text/plain'], ['Hello']] };
Plack::Handler::CGI->new->run($app);
