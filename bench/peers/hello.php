<?php
// Run by php-cgi, which finds this file through SCRIPT_FILENAME as Apache's Action would pass it.
header('Content-Type: text/plain');
echo 'Hello';
